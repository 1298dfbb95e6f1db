"""Output checking (statistical disclosure control) with ACRO, set up for this course.

Results leave a trusted research environment only after an output checker has looked at them. ACRO, from the SACRO
project, runs the usual checks (minimum cell counts, dominance, zeros, residual degrees of freedom) as tables and models
are made, and ``finalise`` writes what the checker reads: ``results.json`` plus a file per output and checksums.

This module stays thin on purpose: it opens a session with the course's rules and quiet logging, finalises into a new
folder (refusing to reuse one, where ACRO only logs a warning and returns nothing), and turns the records, in memory
or in ``results.json``, into tidy tables that a notebook can show. It never shows ACRO's timestamps, so that a
notebook's outputs stay the same from run to run.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sdfirst.exceptions import DataFirstError

if TYPE_CHECKING:  # pragma: no cover
    from acro import ACRO

__all__ = ["COURSE_RULES", "check_results", "finalise", "open_session", "summarise"]

#: The rules of thumb the course teaches, in ACRO's own configuration names. They are ACRO's defaults, written out
#: here so that a reader sees them in one place and a test notices if a new ACRO release changes them.
COURSE_RULES: dict[str, Any] = {
    "safe_threshold": 10,  # every cell of a frequency table counts at least 10 units
    "safe_dof_threshold": 10,  # a model keeps at least 10 residual degrees of freedom
    "safe_nk_n": 2,  # dominance (N-k): the largest 2 contributors ...
    "safe_nk_k": 0.9,  # ... must not make up 90% or more of a cell's total
    "safe_pratio_p": 0.1,  # p% rule: the rest, less the second largest, must be at least 10% of the largest
    "zeros_are_disclosive": True,  # a zero in a table is flagged for a checker to look at
}

_MITIGATIONS = ("none", "suppress", "round")


def _import_acro() -> Any:
    """Import ACRO without its side effect on the root logger.

    ``import acro`` calls ``logging.basicConfig(level=INFO)``, which would make every library in the process (DuckDB,
    Splink, ...) print its INFO messages into a notebook. The root logger is put back as it was, and ACRO's own
    logger is kept to warnings.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        import acro
    finally:
        root.setLevel(level)
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
    logging.getLogger("acro").setLevel(logging.WARNING)
    # Warnings that pandas raises inside ACRO's own code (assigning to a slice when suppressing, callables passed to
    # groupby) say nothing about the researcher's code: they are hidden for ACRO's modules only.
    warnings.filterwarnings("ignore", category=pd.errors.SettingWithCopyWarning, module="acro")
    warnings.filterwarnings("ignore", category=FutureWarning, module="acro")
    return acro


def open_session(mitigation: str = "none", round_base: int = 5, **rules: Any) -> ACRO:
    """An ACRO session that checks outputs against the course's rules (or the given overrides).

    ``mitigation`` says what ACRO does to a failing table: ``"none"`` (flag it only, the right start: see the
    problem before hiding it), ``"suppress"`` (blank the failing cells) or ``"round"`` (round every cell to
    ``round_base``). ``rules`` overrides entries of :data:`COURSE_RULES`, for example ``safe_threshold=20`` where
    an environment asks for more; an unknown name is refused rather than silently ignored.
    """
    if mitigation not in _MITIGATIONS:
        raise DataFirstError(f"unknown mitigation {mitigation!r}: choose one of {', '.join(_MITIGATIONS)}")
    unknown = sorted(set(rules) - set(COURSE_RULES))
    if unknown:
        raise DataFirstError(
            f"unknown output-checking rule(s) {', '.join(unknown)}: known are {', '.join(COURSE_RULES)}"
        )
    acro = _import_acro()
    session = acro.ACRO(mitigation=mitigation, round_base=round_base)
    # ACRO reads its rules from this dict whenever it checks an output (the checks hold the same object), and
    # finalise() writes it to config.json, so the checker sees the rules that were applied.
    session.config.update({**COURSE_RULES, **rules})
    return session


def finalise(session: ACRO, folder: str | Path) -> Path:
    """Write the session's outputs for the checker into ``folder``, which must not exist yet, and return it.

    ACRO writes ``results.json`` (every output, its status and the reasons), one file per table or model, a session
    summary, ``config.json`` (the rules applied) and ``checksums/``. Writing into an existing folder could mix two
    sessions' files, so ACRO refuses; it only logs that, so here it is an error.
    """
    folder = Path(folder)
    if folder.exists():
        raise DataFirstError(f"{folder} already exists: finalise each session into a new folder")
    if not session.results.results:
        raise DataFirstError("the session holds no outputs: there is nothing to finalise")
    session.finalise(str(folder), "json")
    if not (folder / "results.json").is_file():
        raise DataFirstError(f"ACRO did not write {folder / 'results.json'}")
    return folder


def _records(source: ACRO | str | Path | Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(output name, record as in results.json) for a session, a finalised folder or a loaded results.json."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        path = path / "results.json" if path.is_dir() else path
        if not path.is_file():
            raise DataFirstError(f"no ACRO results at {path}: run finalise() first")
        source = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(source, Mapping):
        yield from source["results"].items()
        return
    for name, record in source.results.results.items():
        yield (
            name,
            {
                "status": record.status,
                "type": record.output_type,
                "properties": record.properties,
                "files": [{"sdc": record.sdc}],
                "summary": record.summary,
                "exception": record.exception,
                "fair": record.fair,
            },
        )


def _cells(record: Mapping[str, Any], check: str) -> int | None:
    """How many cells of a table's files a check flagged (None for outputs that are not tables)."""
    counts = [file.get("sdc", {}).get("summary", {}) for file in record.get("files", [])]
    counts = [c for c in counts if check in c]
    return sum(int(c[check]) for c in counts) if counts else None


def check_results(source: ACRO | str | Path | Mapping[str, Any]) -> pd.DataFrame:
    """One row per output and check: the check's status and, for tables, how many cells it flagged.

    ``source`` is an open session, a folder written by :func:`finalise` (or its ``results.json``), or the loaded
    JSON. Outputs keep ACRO's order; checks are in the order ACRO ran them. Outputs without checks (files a
    researcher added by hand, ACRO's own session summaries) have no rows.
    """
    rows = []
    for name, record in _records(source):
        fair = record.get("fair") or {}
        for check, status in (fair.get("check_status") or {}).items():
            rows.append({"output": name, "check": check, "status": status, "cells": _cells(record, check)})
    frame = pd.DataFrame(rows, columns=["output", "check", "status", "cells"])
    frame["cells"] = frame["cells"].astype("Int64")
    return frame


def _reasons(record: Mapping[str, Any]) -> str:
    """The failed checks of one output in a line: "MinimumThresholdCheck (2 cells)", or a model's dof line."""
    fair = record.get("fair") or {}
    failed = [check for check, status in (fair.get("check_status") or {}).items() if status != "pass"]
    if record.get("type") == "regression":
        return "; ".join(line.strip() for line in str(record.get("summary", "")).splitlines() if line.strip())
    parts = []
    for check in failed:
        cells = _cells(record, check)
        parts.append(check if cells is None else f"{check} ({cells} cell{'s' if cells != 1 else ''})")
    return "; ".join(parts)


def summarise(source: ACRO | str | Path | Mapping[str, Any]) -> pd.DataFrame:
    """One row per output: its type, the method that made it, ACRO's status, the mitigation and the reasons.

    Status is ACRO's: ``pass``, ``fail`` (a rule is broken and nothing was done), or ``review`` (a checker must look:
    cells were suppressed or rounded, or the output is a file ACRO cannot check). ``source`` is as for
    :func:`check_results`. Timestamps are left out on purpose.
    """
    rows = []
    for name, record in _records(source):
        properties = record.get("properties") or {}
        rows.append(
            {
                "output": name,
                "type": record.get("type", ""),
                "method": properties.get("method", ""),
                "status": record.get("status", ""),
                "mitigation": properties.get("mitigation", ""),
                "reasons": _reasons(record),
                "exception": record.get("exception", "") or "",
            }
        )
    return pd.DataFrame(rows, columns=["output", "type", "method", "status", "mitigation", "reasons", "exception"])
