"""Open the configured data folder in DuckDB: one schema per dataset, one view per table, over its files.

The synthetic copy and the extract are laid out alike, as the release is, and each table is found as `make
check-schema` finds it, by the names in `layout.py` (baked from the sdfirst specs): under the release's own file
names where they are known (probation's `moj_probation_flatfile_01` .. `_30`, the MoJ-DfE share's text files), else
`<dataset>/<table>/*.parquet` or `<dataset>/<table>.parquet`. `make check-schema` says whether a folder matches what
this code expects. The linking table that gives every record its person (`{{ linking_folder() }}/xjs_link.parquet`,
made by `make data` for the synthetic copy, delivered with the extract) is opened the same way, as the schema
`{{ linking_folder() }}`. The release has no names, dates of birth or postcodes, and neither does this code: the
synthetic copy keeps them apart, in `identified/`, for teaching linkage only.

This module imports no sdfirst (the analysis must run where sdfirst cannot be installed), so the read of delimited
text below repeats what `sdfirst.connect` does: header, the dictionary's types, and "" kept as an empty string.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from {{ cookiecutter.project_slug }}.config import Config, load
from {{ cookiecutter.project_slug }}.layout import TABLES, TYPES

LINKING = "{{ linking_folder() }}"  # the folder (and schema) of the linkage output


def table_files(folder: Path, key: str) -> list[Path]:
    """The files of one table (`dataset.table`) in a folder, in name order; none if it is not there."""
    dataset, table = key.split(".", 1)
    base = Path(folder) / dataset
    pattern = TABLES[key]["glob"]
    if pattern is not None:
        return sorted(p for p in base.glob(pattern) if p.is_file())
    single = base / f"{table}.parquet"
    return [single] if single.is_file() else sorted((base / table).glob("*.parquet"))


def table_paths(config: Config) -> dict[str, list[Path]]:
    """`dataset.table` -> the files DuckDB reads, for every table found of the configured datasets and the linkage."""
    found = {}
    for key in TABLES:
        files = table_files(config.folder, key) if key.split(".", 1)[0] in config.datasets else []
        if files:
            found[key] = files
    linked = Path(config.folder) / LINKING
    for path in sorted(linked.glob("*.parquet")) if linked.is_dir() else []:
        found[f"{LINKING}.{path.stem}"] = [path]
    return found


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _files_sql(files: list[Path], text: bool, types: dict[str, str]) -> str:
    listed = "[" + ", ".join(_quoted(str(p)) for p in files) + "]"
    if text:
        columns = "{" + ", ".join(f"{_quoted(c)}: {_quoted(t)}" for c, t in types.items()) + "}"
        options = f"header = true, auto_detect = false, columns = {columns}, allow_quoted_nulls = false"
        return f"read_csv({listed}, {options})"
    return f"read_parquet({listed})"


def _in_file(layout: dict, column: str, year: int) -> bool:
    """Whether a column is in the file of `year` (not the year column, which is in the file's name)."""
    first, last = layout["years"].get(column, (None, None))
    return column != layout["by"] and (first is None or year >= first) and (last is None or year <= last)


def _year_file_sql(path: Path, layout: dict, text: bool, types: dict[str, str]) -> str:
    """One file of a table of one file a year, read under the table's names: its own columns (which may end in the
    year's two digits, `gender_spr13`), the year from the file's name, and empty for a column that year lacks."""
    year = int(re.findall(r"\d{4}", path.name)[-1])
    digits = f"{year % 100:02d}" if layout["year_suffix"] else ""
    own = {name: kind for name, kind in types.items() if _in_file(layout, name, year)}
    named = {f"{name}{digits}": kind for name, kind in own.items()}
    columns = []
    for name, kind in types.items():
        if name == layout["by"]:
            columns.append(f'CAST({year} AS {kind}) AS "{name}"')
        elif name in own:
            columns.append(f'"{name}{digits}" AS "{name}"')
        else:
            columns.append(f'CAST(NULL AS {kind}) AS "{name}"')
    return f"SELECT {', '.join(columns)} FROM {_files_sql([path], text, named)}"


def read_sql(key: str, files: list[Path]) -> str:
    """The DuckDB expression that reads a table's files: Parquet, or delimited text with the dictionary's types."""
    layout = TABLES.get(key, {"format": "parquet", "by": None})
    text = layout["format"] == "csv"
    if layout["by"]:
        return "(" + " UNION ALL ".join(_year_file_sql(path, layout, text, TYPES[key]) for path in files) + ")"
    return _files_sql(files, text, TYPES.get(key, {}))


def connect(config: Config | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection in which `SELECT * FROM dataset.table` reads the configured folder."""
    config = config or load()
    if not Path(config.folder).is_dir():
        raise FileNotFoundError(f"no data folder {config.folder}: run `make data` (or set the extract folder)")
    con = duckdb.connect()
    for key, files in table_paths(config).items():
        dataset, table = key.split(".", 1)
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
        con.execute(f'CREATE VIEW "{dataset}"."{table}" AS SELECT * FROM {read_sql(key, files)}')
    return con
