"""Open the configured data folder in DuckDB: one schema per dataset, one view per table, over its files.

The synthetic copy and the extract are laid out alike, as the release is, and each table is found as `make
check-schema` finds it (`sdfirst.extract`, from the specs): under the release's own file names where they are known
(probation's `moj_probation_flatfile_01` .. `_30`), else `<dataset>/<table>/*.parquet` or `<dataset>/<table>.parquet`.
`make check-schema` says whether a folder matches what this code expects. The linking table that gives every record
its person (`{{ linking_folder() }}/xjs_link.parquet`, made by `make data` for the synthetic copy, delivered with the
extract) is opened the same way, as the schema `{{ linking_folder() }}`. The release has no names, dates of birth or
postcodes, and neither does this code: the synthetic copy keeps them apart, in `identified/`, for teaching linkage only.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from sdfirst.extract import find_tables, view_sql

from {{ cookiecutter.project_slug }}.config import Config, load

LINKING = "{{ linking_folder() }}"  # the folder (and schema) of the linkage output


def table_paths(config: Config) -> dict[str, list[Path]]:
    """`dataset.table` -> the files DuckDB reads, for every table found of the configured datasets and the linkage."""
    found = find_tables(config.folder, config.datasets)
    linked = Path(config.folder) / LINKING
    for path in sorted(linked.glob("*.parquet")) if linked.is_dir() else []:
        found[f"{LINKING}.{path.stem}"] = [path]
    return found


def connect(config: Config | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection in which `SELECT * FROM dataset.table` reads the configured folder."""
    config = config or load()
    if not Path(config.folder).is_dir():
        raise FileNotFoundError(f"no data folder {config.folder}: run `make data` (or set the extract folder)")
    con = duckdb.connect()
    for key, files in table_paths(config).items():
        dataset, table = key.split(".", 1)
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
        if dataset == LINKING:
            quoted = str(files[0]).replace("'", "''")
            con.execute(f'CREATE VIEW "{dataset}"."{table}" AS SELECT * FROM read_parquet(\'{quoted}\')')
        else:
            con.execute(f'CREATE VIEW "{dataset}"."{table}" AS {view_sql(key, files)}')
    return con
