"""Produce outputs through acro, so that each table and model is checked for disclosure before it is requested.

The table counts people, not records (see analysis.py), so acro's threshold (at least 10 per cell) applies to people.

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

from {{ cookiecutter.project_slug }}.analysis import CROSSTAB, MODEL, PEOPLE, design, people_frame
from {{ cookiecutter.project_slug }}.config import Config, load
from {{ cookiecutter.project_slug }}.data import connect

LOG_HEADER = "| id | date | output | files (sha256, first 12) | acro status | decision |\n|---|---|---|---|---|---|\n"
TABLE = f"people_by_{CROSSTAB['rows']}_and_{CROSSTAB['columns']}"
REGRESSION = f"{MODEL['outcome']}_by_{MODEL['predictor']}"


def next_request(outputs: Path) -> tuple[str, Path]:
    """The next request id (R001, R002, ...) and its folder, which must not exist yet (acro will not overwrite)."""
    requests = outputs / "requests"
    taken = [int(p.name[1:]) for p in requests.glob("R[0-9][0-9][0-9]") if p.is_dir()]
    ident = f"R{max(taken, default=0) + 1:03d}"
    return ident, requests / ident


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _last(session) -> str:
    return list(session.results.results)[-1]


def people_table(session, frame) -> str:
    """The example table of people through acro; cells under the threshold suppressed if any fail. Its name.

    The table is made first with no mitigation, to see whether it passes; only if a cell fails is it made again
    with suppression (status "review": a checker looks at what was blanked), and the failing draft removed, so
    that the request never holds a disclosive table.
    """
    rows, columns = frame[CROSSTAB["rows"]], frame[CROSSTAB["columns"]]
    session.crosstab(rows, columns)
    note = ""
    if session.results.results[_last(session)].status == "fail":
        session.remove_output(_last(session))
        session.enable_suppression()
        session.crosstab(rows, columns)
        session.disable_suppression()
        note = " Cells under the threshold suppressed."
    session.rename_output(_last(session), TABLE)
    session.add_comments(TABLE, f"People (each person's first record of {PEOPLE['table']}), not records.{note}")
    return TABLE


def run_acro(config: Config, folder: Path) -> dict:
    """The example table and regression through acro; acro's results written to `folder`. Returns results.json."""
    # acro needs pandas<3; imported here so that the rest of the package does not need it. sdfirst.outputs opens a
    # session with the rules of thumb of the course (at least 10 people per cell, ...) and keeps acro's logging quiet.
    from sdfirst.outputs import finalise, open_session

    frame = people_frame(connect(config))
    session = open_session()
    people_table(session, frame)
    outcome, exog = design(frame)
    session.ols(outcome, exog)
    session.rename_output(_last(session), REGRESSION)
    finalise(session, folder)
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
