"""The browser that the tests of the built book drive, found or installed before `make test` spends minutes.

`make test` runs `python tests/browser.py --ensure` first. It finds a Chromium (`$SDFIRST_BROWSER`, Debian's
`/usr/bin/chromium`, one on PATH, the macOS application, or the one `playwright install chromium` downloads). If there
is none, it installs Debian's `chromium` itself when it can (root on Debian, with apt), saying so first; anywhere else
it stops at once with one line giving the command for that platform, so that nothing is installed behind the user's
back and no build is thrown away because the browser test came last. tests/test_book.py asks `find()` for the path.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PATH = "/usr/bin/chromium"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MACOS_APPS = (
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
)
APT_INSTALL = ["apt-get", "install", "-y", "-qq", "chromium"]


@dataclass(frozen=True)
class Advice:
    """What to do when no browser is found: a command to run here (`run`), or one line for the user (`tell`)."""

    run: list[str] | None = None
    tell: str = ""


def _playwright_chromium() -> str | None:
    """The Chromium that `playwright install chromium` downloaded, if any (it never downloads one by itself)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    try:
        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
    except Exception:  # playwright's driver failing to start means no usable browser from it either
        return None
    return path if path and Path(path).is_file() else None


def find() -> str | None:
    """The path of a Chromium to drive, or None. `$SDFIRST_BROWSER` wins, so any other Chromium can be named."""
    named = os.environ.get("SDFIRST_BROWSER")
    if named:
        return named if Path(named).is_file() else None
    candidates = [DEBIAN_PATH, *(shutil.which(name) for name in NAMES), *MACOS_APPS]
    for path in candidates:
        if path and Path(path).is_file():
            return path
    return _playwright_chromium()


def os_release(path: Path = Path("/etc/os-release")) -> dict[str, str]:
    """The fields of /etc/os-release (ID, ID_LIKE, ...), empty where the file does not exist (macOS, Windows)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    fields = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip('"')
    return fields


def advise(system: str, release: dict[str, str], is_root: bool, has_apt: bool, python: str) -> Advice:
    """What to do on this platform when no browser is found.

    Only Debian's own `chromium` package is installed unasked (as root, with apt: it comes from the distribution, is
    what CI uses, and is a plain package). Ubuntu's `chromium` is a snap that does not install in containers, and on
    macOS and Windows the browser is the user's choice, so there the user is told the exact command instead.
    """
    distro = release.get("ID", "")
    family = release.get("ID_LIKE", "").split()
    playwright = f"{python} -m playwright install chromium"
    ubuntu = distro == "ubuntu" or "ubuntu" in family
    if system == "Linux" and ubuntu:
        return Advice(tell=f"{python} -m playwright install --with-deps chromium")
    if system == "Linux" and (distro == "debian" or "debian" in family):
        if is_root and has_apt:
            return Advice(run=APT_INSTALL)
        return Advice(tell="sudo apt-get install chromium")
    if system == "Darwin":
        return Advice(tell=f"brew install --cask chromium   (or: {playwright})")
    if system == "Windows":
        return Advice(tell=f"{playwright}   (in the activated conda environment or .venv)")
    return Advice(tell=f"{playwright}   (or install Chromium and set SDFIRST_BROWSER to its path)")


def ensure() -> int:
    """Find the browser, or install Debian's chromium (saying so), or print one line with the command to run."""
    named = os.environ.get("SDFIRST_BROWSER")
    if named and not Path(named).is_file():
        print(f"make test: SDFIRST_BROWSER names {named}, which is not a file", file=sys.stderr)
        return 1
    if find():
        return 0
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    advice = advise(platform.system(), os_release(), is_root, shutil.which("apt-get") is not None, sys.executable)
    if advice.run is None:
        print(
            f"make test: the browser test of the book needs Chromium; run `{advice.tell}`, then make test again",
            file=sys.stderr,
        )
        return 1
    print(
        "make test: installing Debian's chromium for the browser test of the book (apt-get install chromium)",
        file=sys.stderr,
    )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], advice.run):
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            print(
                f"make test: `{' '.join(command)}` failed ({last}); install chromium, then make test again",
                file=sys.stderr,
            )
            return 1
    if find():
        return 0
    print(f"make test: chromium was installed but {DEBIAN_PATH} is missing; set SDFIRST_BROWSER", file=sys.stderr)
    return 1


if __name__ == "__main__":
    if sys.argv[1:] != ["--ensure"]:
        print("usage: python tests/browser.py --ensure", file=sys.stderr)
        sys.exit(2)
    sys.exit(ensure())
