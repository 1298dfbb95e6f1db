"""Open the configured data folder in DuckDB: one schema per dataset, one view per table, over the Parquet files.

The layout is the same for the synthetic copy and the extract (`<dataset>/<table>/*.parquet` or
`<dataset>/<table>.parquet`); `make check-schema` says whether a folder matches what this code expects. The linking
table that gives every record its person (`{{ linking_folder() }}/xjs_link.parquet`, made by `make data` for the
synthetic copy, delivered with the extract) is opened the same way, as the schema `{{ linking_folder() }}`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from {{ cookiecutter.project_slug }}.config import Config, load

LINKING = "{{ linking_folder() }}"  # the folder (and schema) of the linkage output


def table_paths(config: Config) -> dict[str, str]:
    """`dataset.table` -> the Parquet glob DuckDB reads, for every table found of the configured datasets."""
    found = {}
    for dataset in (*config.datasets, LINKING):
        base = config.folder / dataset
        if not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            if entry.is_dir() and any(entry.glob("*.parquet")):
                found[f"{dataset}.{entry.name}"] = str(entry / "*.parquet")
            elif entry.suffix == ".parquet":
                found[f"{dataset}.{entry.stem}"] = str(entry)
    return found


def connect(config: Config | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection in which `SELECT * FROM dataset.table` reads the configured folder."""
    config = config or load()
    if not Path(config.folder).is_dir():
        raise FileNotFoundError(f"no data folder {config.folder}: run `make data` (or set the extract folder)")
    con = duckdb.connect()
    for key, pattern in table_paths(config).items():
        dataset, table = key.split(".", 1)
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
        quoted = pattern.replace("'", "''")
        con.execute(f'CREATE VIEW "{dataset}"."{table}" AS SELECT * FROM read_parquet(\'{quoted}\')')
    return con
