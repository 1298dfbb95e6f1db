"""Produce outputs through acro, so that each table and model is checked for disclosure before it is requested.

`make outputs` (or `python -m {{ cookiecutter.project_slug }}.outputs`) runs the example table and model through
acro, writes acro's results (results.json, the files and their checksums) to a new folder outputs/requests/R<nnn>/,
and adds one row per output to the request log (outputs/request-log.md) with status "pending" until the output
checkers decide. Nothing here sends anything anywhere: the researcher submits the folder through the
{{ cookiecutter.secure_environment }}'s output request process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

from {{ cookiecutter.project_slug }}.analysis import CROSSTAB, crosstab_frame, design, model_frame
from {{ cookiecutter.project_slug }}.config import Config, load
from {{ cookiecutter.project_slug }}.data import connect

LOG_HEADER = "| id | date | output | files (sha256, first 12) | acro status | decision |\n|---|---|---|---|---|---|\n"


def next_request(outputs: Path) -> tuple[str, Path]:
    """The next request id (R001, R002, ...) and its folder, which must not exist yet (acro will not overwrite)."""
    requests = outputs / "requests"
    taken = [int(p.name[1:]) for p in requests.glob("R[0-9][0-9][0-9]") if p.is_dir()]
    ident = f"R{max(taken, default=0) + 1:03d}"
    return ident, requests / ident


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_acro(config: Config, folder: Path) -> dict:
    """The example crosstab and regression through acro; acro's results written to `folder`. Returns results.json."""
    from acro import ACRO  # acro needs pandas<3; imported here so that the rest of the package does not need it

    con = connect(config)
    acro = ACRO(suppress=False)
    table = crosstab_frame(con)
    acro.crosstab(table[CROSSTAB["rows"]], table[CROSSTAB["columns"]])
    outcome, exog = design(model_frame(con))
    acro.ols(outcome, exog)
    acro.finalise(str(folder), "json")
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


def log_rows(ident: str, date: str, folder: Path, results: dict) -> list[str]:
    """One request-log row per acro output: its files with checksums, acro's status, and a decision still to come."""
    rows = []
    for uid, output in results["results"].items():
        files = "; ".join(f"{f['name']} ({sha256(folder / f['name'])[:12]})" for f in output["files"])
        rows.append(f"| {ident} | {date} | {uid} | {files} | {output['status']} | pending |")
    return rows


def append_log(log: Path, rows: list[str]) -> None:
    if not log.exists():
        log.write_text("# Output request log\n\n" + LOG_HEADER, encoding="utf-8")
    with log.open("a", encoding="utf-8") as handle:
        handle.write("".join(row + "\n" for row in rows))


def request(config: Config | None = None, today: dt.date | None = None) -> tuple[str, Path, list[str]]:
    """Run the example through acro into a new request folder and log it: (id, folder, log rows)."""
    config = config or load()
    ident, folder = next_request(config.outputs)
    folder.parent.mkdir(parents=True, exist_ok=True)
    results = run_acro(config, folder)
    rows = log_rows(ident, (today or dt.date.today()).isoformat(), folder, results)
    append_log(config.outputs / "request-log.md", rows)
    return ident, folder, rows


def main() -> int:
    ident, folder, rows = request()
    print(f"{ident}: {len(rows)} outputs written to {folder}; logged in outputs/request-log.md as pending")
    return 0


if __name__ == "__main__":
    sys.exit(main())
