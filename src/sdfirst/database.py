"""Open a generated folder in DuckDB: one schema per dataset, one view per table, straight over the Parquet.

The folder is checked before any view is made, so that a damaged folder gets one line naming what is wrong (the
manifest, a missing folder, a truncated file) rather than a DuckDB error in the middle of an analysis. The check
reads only the manifest and each file's Parquet footer, never the rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from sdfirst.exceptions import DataFirstError

MANIFEST = "manifest.json"
GENERATOR = "sdfirst"
_TABLE_KEY = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")  # dataset.table, as the specs name them


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a generated folder, checked to be one: valid JSON, written by this generator, with tables."""
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise DataFirstError(f"{folder} is not a folder")
    if not path.is_file():
        raise DataFirstError(f"{folder} is not a generated folder (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataFirstError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise DataFirstError(f"{path} is damaged: not valid JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(manifest, dict) or manifest.get("generator") != GENERATOR:
        raise DataFirstError(f"{path} was not written by `sdfirst synth`")
    tables = manifest.get("tables")
    datasets = manifest.get("datasets")
    if not isinstance(tables, dict) or not isinstance(datasets, list):
        raise DataFirstError(f"{path} is damaged: it has no list of datasets and tables")
    for key, info in tables.items():
        files = info.get("files") if isinstance(info, dict) else None
        if not _TABLE_KEY.fullmatch(str(key)) or not isinstance(files, list) or not isinstance(info.get("rows"), int):
            raise DataFirstError(f"{path} is damaged: its entry for table {key!r} has no files or rows")
    return manifest


def made_by(manifest: dict[str, Any]) -> str:
    """The command that generated a folder, from its manifest (for messages that say how to make what is missing)."""
    written = [d for d in manifest.get("datasets", []) if d != "truth"]
    years = "-".join(str(y) for y in manifest.get("years", []))
    return f"sdfirst synth --people {manifest.get('people')} --seed {manifest.get('seed')} --years {years} " + (
        f"--datasets {','.join(written)}" if written else "--datasets (none)"
    )


def parquet_rows(path: Path) -> int:
    """The rows of a Parquet file, from its footer; a one-line error naming the file if it is not Parquet."""
    try:
        return pq.read_metadata(path).num_rows
    except (OSError, pa.ArrowException) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataFirstError(f"{path} is not a readable Parquet file (truncated or damaged?): {reason}") from None


def check_table(folder: Path, key: str, info: dict[str, Any]) -> None:
    """Every file the manifest lists for a table exists, is Parquet (its footer reads) and the rows add up."""
    rows = 0
    for name in info["files"]:
        path = folder / str(name)
        if not path.is_file():
            raise DataFirstError(f"{path} is missing (the manifest lists it for {key})")
        rows += parquet_rows(path)
    if rows != info["rows"]:
        raise DataFirstError(f"{folder}: {key} has {rows:,} rows in its files but {info['rows']:,} in the manifest")


def check_folder(folder: str | Path, datasets: Collection[str] | None = None) -> dict[str, Any]:
    """The manifest of a generated folder whose tables (of `datasets`, or all) are all present and readable."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    for key, info in manifest["tables"].items():
        dataset = key.split(".", 1)[0]
        if datasets is not None and dataset not in datasets:
            continue
        if not (folder / dataset).is_dir():
            raise DataFirstError(f"{folder / dataset} is missing: the manifest lists dataset {dataset}")
        check_table(folder, key, info)
    return manifest


def find_damaged(folder: str | Path) -> Path | None:
    """The first file of a generated folder whose rows DuckDB cannot decode, or None.

    Footers are checked before every command; damage inside a file shows only when its rows are read, deep in an
    analysis and without the file's name. This reads every column of every file (seconds for the default size), so
    it is for after such a failure, to name the file.
    """
    try:
        manifest = read_manifest(folder)
    except DataFirstError:
        return None
    con = duckdb.connect()
    try:
        for info in manifest["tables"].values():
            for name in info["files"]:
                path = Path(folder) / str(name)
                file = str(path).replace("'", "''")
                try:
                    con.execute(f"SELECT min(COLUMNS(*)) FROM read_parquet('{file}')").fetchall()
                except (duckdb.Error, OSError):
                    return path
    finally:
        con.close()
    return None


def connect(
    folder: str | Path,
    read_only: bool = True,
    datasets: Collection[str] | None = None,
    linking: bool = True,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in which `SELECT * FROM probation.flatfile` reads the generated files.

    The connection is in memory; nothing is written to the folder. `read_only` is kept for symmetry with a
    database file and has no effect on the Parquet, which DuckDB only reads. `datasets` limits the views (and the
    check) to those datasets, for a command that can do without the others (`link` without the truth); `linking`
    False leaves out the views of an earlier linkage (`link --overwrite` replaces them, damaged or not). `threads`
    sets DuckDB's thread count (its default is every core); the course's results are the same at any count
    (tests/test_thread_determinism.py).
    """
    del read_only  # kept for symmetry with duckdb.connect; Parquet is only ever read
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise DataFirstError(f"threads must be a whole number of at least 1, not {threads!r}")
    folder = Path(folder)
    manifest = check_folder(folder, datasets)
    con = duckdb.connect() if threads is None else duckdb.connect(config={"threads": threads})
    for key in manifest["tables"]:
        dataset, table = key.split(".", 1)
        if datasets is not None and dataset not in datasets:
            continue
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
        pattern = str((folder / dataset / table / "*.parquet").resolve()).replace("'", "''")
        con.execute(f'CREATE VIEW "{dataset}"."{table}" AS SELECT * FROM read_parquet(\'{pattern}\')')
    linked = folder / "linking"  # written by `sdfirst link`: one view per Parquet file, in schema `linking`
    if linking and linked.is_dir():
        con.execute("CREATE SCHEMA IF NOT EXISTS linking")
        for path in sorted(linked.glob("*.parquet")):
            parquet_rows(path)  # a damaged output file gets one line naming it
            file = str(path.resolve()).replace("'", "''")
            con.execute(f"CREATE VIEW linking.\"{path.stem}\" AS SELECT * FROM read_parquet('{file}')")
    return con
