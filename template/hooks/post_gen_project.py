"""After baking: make the commit guard executable (nothing here needs the internet)."""

import stat
from pathlib import Path

guard = Path("scripts") / "check_commit.py"
guard.chmod(guard.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
