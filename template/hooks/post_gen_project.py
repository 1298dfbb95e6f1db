"""After baking: make the commit guard executable, and write sdfirst's own wheel into wheels/ (offline).

The baked project installs sdfirst from that file (requirements.txt names it), never by name from a package index.
"""

import stat
import sys
from pathlib import Path

guard = Path("scripts") / "check_commit.py"
guard.chmod(guard.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

from sdfirst.exceptions import DataFirstError  # noqa: E402  (the pre-generation hook checked it is importable)
from sdfirst.newproject import write_wheel  # noqa: E402

try:
    wheel = write_wheel("wheels")
except DataFirstError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)
expected = "{{ sdfirst_wheel() }}"
if wheel.name != expected:  # requirements.txt names the file: they must agree
    print(f"error: wrote {wheel.name}, but requirements.txt names {expected}", file=sys.stderr)
    sys.exit(1)
