"""The output-checking example runs through acro and logs every output for the checkers."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from {{ cookiecutter.project_slug }}.outputs import REGRESSION, TABLE, append_log, next_request, request


def test_request_ids_count_up(tmp_path):
    assert next_request(tmp_path) == ("R001", tmp_path / "requests" / "R001")
    (tmp_path / "requests" / "R001").mkdir(parents=True)
    assert next_request(tmp_path)[0] == "R002"


def test_log_gets_a_header_once(tmp_path):
    log = tmp_path / "log.md"
    append_log(log, ["| R001 | a |"])
    append_log(log, ["| R002 | b |"])
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# Output request log"
    assert lines[-2:] == ["| R001 | a |", "| R002 | b |"]
    assert sum(line.startswith("| id |") for line in lines) == 1


def test_example_through_acro(config, tmp_path):
    pytest.importorskip("acro", reason="acro is not installed (make install installs it)")
    config = dataclasses.replace(config, outputs=tmp_path)
    ident, folder, rows = request(config, today=dt.date(2025, 1, 31))
    assert ident == "R001"
    assert (folder / "results.json").is_file()
    assert (folder / "checksums").is_dir()
    assert len(rows) >= 2  # the table and the model, at least
    assert all(row.startswith("| R001 | 2025-01-31 |") and row.endswith("| pending |") for row in rows)
    log = (tmp_path / "request-log.md").read_text(encoding="utf-8")
    assert all(row in log for row in rows)


def test_the_request_holds_nothing_that_fails_acro(config, tmp_path):
    """The table passes acro's checks, or its failing cells are suppressed (a checker reviews them); never "fail"."""
    pytest.importorskip("acro", reason="acro is not installed (make install installs it)")
    from sdfirst.outputs import summarise

    _ident, folder, _rows = request(dataclasses.replace(config, outputs=tmp_path), today=dt.date(2025, 1, 31))
    outputs = summarise(folder).set_index("output")
    assert outputs.loc[REGRESSION, "status"] == "pass"
    table = outputs.loc[TABLE]
    assert (table["status"], table["mitigation"]) in {("pass", "none"), ("review", "suppress")}, table.to_dict()
