"""Shared fixtures: one small synthetic folder, generated once per test session and read by many tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import sdfirst
from sdfirst.specs import datasets
from sdfirst.synth import generate

PEOPLE = 30_000
SEED = 7
CHUNK_PEOPLE = 10_000  # three chunks, so that chunk boundaries are exercised


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    """(folder, manifest) of every dataset in order.yaml for 30,000 people, seed 7, in three chunks."""
    folder = tmp_path_factory.mktemp("synth") / "out"
    manifest = generate(folder, people=PEOPLE, seed=SEED, chunk_people=CHUNK_PEOPLE)
    yield folder, manifest


@pytest.fixture(scope="session")
def con(generated):
    """A DuckDB connection over the generated folder (one schema per dataset), in the identified view: every
    column, identifiers included, so that the invariants can check them too."""
    connection = sdfirst.connect(generated[0], view="identified")
    yield connection
    connection.close()


def table_keys(include_truth: bool = True) -> list[str]:
    """Every `dataset.table` of the specs, in generator order."""
    return [
        f"{name}.{table}"
        for name, spec in datasets().items()
        if include_truth or not spec.always
        for table in spec.tables
    ]


def scalar(con, sql: str, params: list | None = None):
    """The single value of a query."""
    return con.execute(sql, params or []).fetchone()[0]


def make_table(con: duckdb.DuckDBPyConnection, name: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """A hand-made table for a unit test, with every `*_date` column as a DATE (as the generated tables have)."""
    frame = pd.DataFrame(rows, columns=list(columns))
    for column in frame.columns:
        if column.endswith("_date"):
            frame[column] = pd.to_datetime(frame[column]).dt.date
    con.register("_rows", frame)
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM _rows")
    con.unregister("_rows")
