"""Open a generated folder in DuckDB: one schema per dataset, one view per table, straight over the Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from sdfirst.exceptions import DataFirstError


def connect(folder: str | Path, read_only: bool = True, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in which `SELECT * FROM probation.flatfile` reads the generated files.

    The connection is in memory; nothing is written to the folder. `read_only` is kept for symmetry with a
    database file and has no effect on the Parquet, which DuckDB only reads. `threads` sets DuckDB's thread count
    (its default is every core); the course's results are the same at any count (tests/test_thread_determinism.py).
    """
    del read_only  # kept for symmetry with duckdb.connect; Parquet is only ever read
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise DataFirstError(f"threads must be a whole number of at least 1, not {threads!r}")
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise DataFirstError(f"{folder} is not a generated folder (no manifest.json)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    con = duckdb.connect() if threads is None else duckdb.connect(config={"threads": threads})
    for key, _info in manifest["tables"].items():
        dataset, table = key.split(".", 1)
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
        pattern = str((folder / dataset / table / "*.parquet").resolve()).replace("'", "''")
        con.execute(f'CREATE VIEW "{dataset}"."{table}" AS SELECT * FROM read_parquet(\'{pattern}\')')
    linking = folder / "linking"  # written by `sdfirst link`: one view per Parquet file, in schema `linking`
    if linking.is_dir():
        con.execute("CREATE SCHEMA IF NOT EXISTS linking")
        for path in sorted(linking.glob("*.parquet")):
            file = str(path.resolve()).replace("'", "''")
            con.execute(f"CREATE VIEW linking.\"{path.stem}\" AS SELECT * FROM read_parquet('{file}')")
    return con
