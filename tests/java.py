"""The Java that Spark runs on, found or installed before `make test` or `make book` spends minutes.

`make test` and `make book` run `python tests/java.py --ensure` first (the scaling chapter and a slow test link on
Spark, and pyspark 4 needs Java 17 or later). It finds Java as Spark would ($JAVA_HOME/bin/java, else `java` on
PATH) and checks its version. If there is none, it installs Debian's headless Java 17 itself when it can (root on
Debian or Ubuntu, with apt), saying so first; anywhere else it stops at once with one line giving the command for
that platform, as tests/browser.py does for the browser. pyspark itself comes from the package index with the
`spark` extra (`make install`).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import os_release
from sdfirst.linkage.engine import JAVA_INSTALL, JAVA_MIN, find_java, java_version

PACKAGE = "openjdk-17-jre-headless"
FALLBACK = "default-jre-headless"  # a Debian without Java 17 (13 and later) has a newer one as its default


@dataclass(frozen=True)
class Advice:
    """What to do when no Java is found: install with apt here (`apt`), or one line for the user (`tell`)."""

    apt: bool = False
    tell: str = ""


def found() -> str | None:
    """The java Spark would run, if it is Java 17 or later."""
    java = find_java()
    version = java_version(java) if java else None
    return java if version is not None and version >= JAVA_MIN else None


def advise(system: str, release: dict[str, str], is_root: bool, has_apt: bool, conda: bool) -> Advice:
    """What to do on this platform when no Java is found.

    Only Debian's (or Ubuntu's) own package is installed unasked, as root with apt: it comes from the
    distribution and is what CI uses. In a conda environment, on macOS and on Windows the user is told the command.
    """
    distro = release.get("ID", "")
    family = release.get("ID_LIKE", "").split()
    debian_like = distro in ("debian", "ubuntu") or "debian" in family or "ubuntu" in family
    if conda or system == "Windows":
        return Advice(tell=JAVA_INSTALL["conda"])
    if system == "Darwin":
        return Advice(tell=JAVA_INSTALL["macos"])
    if system == "Linux" and debian_like:
        return Advice(apt=True) if is_root and has_apt else Advice(tell=JAVA_INSTALL["debian"])
    return Advice(tell=f"install Java {JAVA_MIN} or later and put it on PATH (or set JAVA_HOME)")


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _package() -> str:
    """Debian's Java 17 package where the distribution has it, else its default Java."""
    return PACKAGE if _run(["apt-cache", "show", PACKAGE]).returncode == 0 else FALLBACK


def ensure() -> int:
    """Find Java 17+, or install Debian's (saying so), or print one line with the command to run."""
    if found():
        return 0
    home = os.environ.get("JAVA_HOME")
    if home and find_java() is None:
        print(f"make: JAVA_HOME names {home}, which has no bin/java; unset it or fix it", file=sys.stderr)
        return 1
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    conda = bool(os.environ.get("CONDA_PREFIX"))
    advice = advise(platform.system(), os_release(), is_root, shutil.which("apt-get") is not None, conda)
    if not advice.apt:
        print(f"make: Spark needs Java {JAVA_MIN} or later; run `{advice.tell}`, then make again", file=sys.stderr)
        return 1
    done = _run(["apt-get", "update", "-qq"])
    package = _package()
    print(f"make: installing Debian's Java for Spark (apt-get install {package})", file=sys.stderr)
    if done.returncode == 0:
        done = _run(["apt-get", "install", "-y", "-qq", package])
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        print(f"make: installing {package} failed ({last}); install Java {JAVA_MIN}, then make again", file=sys.stderr)
        return 1
    if found():
        return 0
    print(f"make: {package} was installed but no java {JAVA_MIN}+ is on PATH; set JAVA_HOME", file=sys.stderr)
    return 1


if __name__ == "__main__":
    if sys.argv[1:] != ["--ensure"]:
        print("usage: python tests/java.py --ensure", file=sys.stderr)
        sys.exit(2)
    sys.exit(ensure())
