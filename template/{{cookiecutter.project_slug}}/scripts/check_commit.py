#!/usr/bin/env python3
"""Refuse to commit data, notebooks with outputs, large files and secrets. Works with no internet.

Run by pre-commit as a local hook (.pre-commit-config.yaml) with the files to commit as arguments, or as a plain git
hook (`make hooks`) with no arguments, when it checks the files staged in git. One line per problem, exit 1.
Only the Python standard library is used, so it runs wherever the project runs.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

DATA_SUFFIXES = {
    ".parquet", ".csv", ".tsv", ".xlsx", ".xls", ".sav", ".dta", ".rds", ".rda", ".rdata",
    ".feather", ".arrow", ".sas7bdat", ".pkl", ".pickle", ".db", ".duckdb", ".sqlite",
}  # fmt: skip
ALLOWED_IN_DATA = {"data/README.md"}  # the only file that may be committed under data/
MAX_KB = 500
SECRETS = {
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "an AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    "a password or token": re.compile(  # also with a prefix: DB_PASSWORD, API_TOKEN, client_secret
        r"(?i)\b\w*?(password|passwd|pwd|secret|token|api_?key)\b\s*[:=]\s*['\"][^'\"\s]{6,}['\"]"
    ),
}


def staged_files() -> list[str]:
    """Files added, copied or modified in the index (what `git commit` would record)."""
    out = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "--diff-filter=ACM", "-z"],
        capture_output=True,
        check=True,
    ).stdout
    return [name for name in out.decode("utf-8").split("\0") if name]


def notebook_has_outputs(path: Path) -> bool:
    """Whether any code cell of a notebook holds outputs or an execution count (both can carry data)."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (ValueError, UnicodeDecodeError):
        return False
    return any(c.get("cell_type") == "code" and (c.get("outputs") or c.get("execution_count")) for c in cells)


def secret_in(path: Path) -> str | None:
    """The kind of the first secret-looking string in a text file, if any."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None
    return next((kind for kind, pattern in SECRETS.items() if pattern.search(text)), None)


def problems(name: str, max_kb: int = MAX_KB) -> list[str]:
    """Why a file must not be committed (empty when it may be)."""
    path = Path(name)
    posix = path.as_posix()
    found = []
    if path.suffix.lower() in DATA_SUFFIXES:
        found.append(f"{posix}: data file ({path.suffix}); data never go into git: keep it out of the repository")
    elif posix.startswith("data/") and posix not in ALLOWED_IN_DATA:
        found.append(f"{posix}: file under data/; data never go into git")
    if not path.is_file():
        return found
    if path.stat().st_size > max_kb * 1024:
        found.append(f"{posix}: {path.stat().st_size // 1024} KB is over the {max_kb} KB limit for one file")
    if path.suffix == ".ipynb" and notebook_has_outputs(path):
        found.append(f"{posix}: notebook has outputs; clear them first (Kernel > Restart & Clear Output)")
    kind = secret_in(path)
    if kind:
        found.append(f"{posix}: looks like it contains {kind}; remove it and keep secrets out of the code")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="files to check (default: the files staged in git)")
    parser.add_argument("--max-kb", type=int, default=MAX_KB, help=f"largest file allowed, in KB ({MAX_KB})")
    args = parser.parse_args(argv)
    files = args.files or staged_files()
    found = [line for name in files for line in problems(name, args.max_kb)]
    for line in found:
        print(f"refused: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
