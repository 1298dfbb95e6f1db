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
from sdfirst.specs import year_of

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


def text_rows(path: Path) -> int:
    """The rows of a delimited text file with a header: its lines but one (no value the generator writes holds a
    line break). A file cut short before its header's end is damaged."""
    try:
        with path.open("rb") as handle:
            lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    except OSError as exc:
        raise DataFirstError(f"cannot read {path}: {exc.strerror}") from None
    if lines < 1:
        raise DataFirstError(f"{path} is not a readable text file with a header (truncated or damaged?)")
    return lines - 1


def check_table(folder: Path, key: str, info: dict[str, Any]) -> None:
    """Every file the manifest lists for a table exists, is readable (a Parquet footer, a text file's lines) and the
    rows add up."""
    rows = 0
    count = text_rows if info.get("format") == "csv" else parquet_rows
    for name in info["files"]:
        path = folder / str(name)
        if not path.is_file():
            raise DataFirstError(f"{path} is missing (the manifest lists it for {key})")
        rows += count(path)
    if rows != info["rows"]:
        raise DataFirstError(f"{folder}: {key} has {rows:,} rows in its files but {info['rows']:,} in the manifest")


def identified_tables(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The identified companions a manifest lists (`dataset.table` -> entry); none in a folder made before them."""
    section = manifest.get("identified")
    tables = section.get("tables") if isinstance(section, dict) else None
    return tables if isinstance(tables, dict) else {}


def check_folder(
    folder: str | Path, datasets: Collection[str] | None = None, identified: bool = False
) -> dict[str, Any]:
    """The manifest of a generated folder whose tables (of `datasets`, or all) are all present and readable, and
    their identified companions too if asked."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    companions = identified_tables(manifest)
    for key, info in manifest["tables"].items():
        dataset = key.split(".", 1)[0]
        if datasets is not None and dataset not in datasets:
            continue
        if not (folder / dataset).is_dir():
            raise DataFirstError(f"{folder / dataset} is missing: the manifest lists dataset {dataset}")
        check_table(folder, key, info)
        if identified and key in companions:
            check_table(folder, f"{key} (identified)", companions[key])
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
        for info in [*manifest["tables"].values(), *identified_tables(manifest).values()]:
            for i, name in enumerate(info["files"]):
                path = Path(folder) / str(name)
                try:
                    con.execute(f"SELECT min(COLUMNS(*)) FROM {read_sql(Path(folder), one_file(info, i))}").fetchall()
                except (duckdb.Error, OSError):
                    return path
    finally:
        con.close()
    return None


VIEWS = ("release", "identified")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def files_sql(paths: list[str], fmt: str, types: dict[str, str], numbered: bool = False) -> str:
    """The DuckDB expression that reads a table's files, in their format (`parquet`, or `csv`: delimited text with a
    header, read with the types it was written with, and where a field written as "" stays an empty string, only an
    empty field being missing). `types` (column -> DuckDB type) also gives a table with no files its columns.
    `numbered` adds each row's file and row number, to keep the files' order."""
    if not paths:
        columns = ", ".join(f'CAST(NULL AS {kind}) AS "{name}"' for name, kind in types.items())
        return f"(SELECT {columns} WHERE false)"
    files = "[" + ", ".join(_quoted(path) for path in paths) + "]"
    if fmt == "csv":
        columns = "{" + ", ".join(f"{_quoted(name)}: {_quoted(kind)}" for name, kind in types.items()) + "}"
        return f"read_csv({files}, header = true, auto_detect = false, columns = {columns}, allow_quoted_nulls = false)"
    extra = ", filename = true, file_row_number = true" if numbered else ""
    return f"read_parquet({files}{extra})"


PER_FILE = ("files", "file_columns", "suffixes")  # the manifest's lists of a table with an entry for each file


def one_file(info: dict[str, Any], i: int) -> dict[str, Any]:
    """A table's manifest entry for its `i`th file alone, as if the table had no other."""
    return info | {key: [info[key][i]] for key in PER_FILE if key in info}


def read_sql(folder: Path, info: dict[str, Any], numbered: bool = False) -> str:
    """`files_sql` for one table of a generated folder, as its manifest lists it. A table split into one file a
    year (the NPD's `Spring_Census_2013`) is read file by file under the table's names (`year_file_sql`), so that
    one view holds every year."""
    paths = [str((folder / str(name)).resolve()) for name in info["files"]]
    fmt, types = info.get("format", "parquet"), info.get("types") or {}
    if not info.get("by") or not paths:
        return files_sql(paths, fmt, types, numbered)
    years = [year_of(Path(path).name) for path in paths]
    parts = zip(paths, years, info["file_columns"], info["suffixes"], strict=True)
    return "(" + " UNION ALL ".join(year_file_sql(p, fmt, types, c, s, info["by"], y) for p, y, c, s in parts) + ")"


def year_file_sql(
    path: str, fmt: str, types: dict[str, str], present: list[str], suffix: str, by: str, year: int
) -> str:
    """One file of a table split by year, read with the table's columns (`types`): the file's own (`present`,
    their names ending in `suffix`, the year's digits), the year column `by` from the file's
    name, and empty for a column the year's file lacks (the census's `llsoa_spr` after 2012)."""
    own = {f"{name}{suffix}": types[name] for name in present}
    mine = dict(zip(present, own, strict=True))
    columns = []
    for name, kind in types.items():
        if name == by:
            columns.append(f'CAST({int(year)} AS {kind}) AS "{name}"')
        elif name in mine:
            columns.append(f'"{mine[name]}" AS "{name}"')
        else:
            columns.append(f'CAST(NULL AS {kind}) AS "{name}"')
    return f"SELECT {', '.join(columns)} FROM {files_sql([path], fmt, own)}"


def _identified_sql(folder: Path, info: dict[str, Any], identified: dict[str, Any]) -> str:
    """A release table with its identifiers joined back from the companion, in the spec's column order and the
    release files' row order (a join alone would not keep it, and the linkage should read rows in a fixed order)."""
    names = set(identified["columns"])
    columns = ", ".join(
        f'{"i" if name in names and name != "row_id_hash" else "r"}."{name}"' for name in identified["order"]
    )
    return (
        f"SELECT {columns} FROM {read_sql(folder, info, numbered=True)} AS r "
        f"LEFT JOIN {read_sql(folder, identified)} AS i USING (row_id_hash) ORDER BY r.filename, r.file_row_number"
    )


def connect(
    folder: str | Path,
    read_only: bool = True,
    datasets: Collection[str] | None = None,
    linking: bool = True,
    threads: int | None = None,
    view: str = "release",
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in which `SELECT * FROM probation.flatfile` reads the generated files.

    `view` chooses what the tables hold. The "release" is what a researcher receives: no names, dates of birth or
    postcodes, as in every real extract; research code is written against it. The "identified" view adds those
    columns back (from the folder's `identified/`), as MoJ's linking team sees the records: the linkage chapters
    and `sdfirst link` need it, and no real release has it.

    The connection is in memory; nothing is written to the folder. `read_only` is kept for symmetry with a
    database file and has no effect on the files, which DuckDB only reads. `datasets` limits the views (and the
    check) to those datasets, for a command that can do without the others (`link` without the truth); `linking`
    False leaves out the views of an earlier linkage (`link --overwrite` replaces them, damaged or not). `threads`
    sets DuckDB's thread count (its default is every core); the course's results are the same at any count
    (tests/test_thread_determinism.py).
    """
    del read_only  # kept for symmetry with duckdb.connect; the files are only ever read
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise DataFirstError(f"threads must be a whole number of at least 1, not {threads!r}")
    if view not in VIEWS:
        raise DataFirstError(f"view must be one of {', '.join(VIEWS)}, not {view!r}")
    folder = Path(folder)
    manifest = check_folder(folder, datasets, identified=view == "identified")
    companions = identified_tables(manifest) if view == "identified" else {}
    con = duckdb.connect() if threads is None else duckdb.connect(config={"threads": threads})
    for key, info in manifest["tables"].items():
        dataset, table = key.split(".", 1)
        if datasets is not None and dataset not in datasets:
            continue
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
        select = (
            _identified_sql(folder, info, companions[key])
            if key in companions
            else f"SELECT * FROM {read_sql(folder, info)}"
        )
        con.execute(f'CREATE VIEW "{dataset}"."{table}" AS {select}')
    linked = folder / "linking"  # written by `sdfirst link`: one view per Parquet file, in schema `linking`
    if linking and linked.is_dir():
        con.execute("CREATE SCHEMA IF NOT EXISTS linking")
        for path in sorted(linked.glob("*.parquet")):
            parquet_rows(path)  # a damaged output file gets one line naming it
            file = str(path.resolve()).replace("'", "''")
            con.execute(f"CREATE VIEW linking.\"{path.stem}\" AS SELECT * FROM read_parquet('{file}')")
    return con
