"""Open a folder laid out as a release, with or without a manifest: the real extract in a secure environment, or the
synthetic one, read the same way.

A generated folder has a manifest that lists every file (`sdfirst.connect` reads it); the real extract has none. Here
each table is found as `sdfirst check-schema` finds it, by the specs: under the release's own file names where they are
known (`moj_probation_flatfile_01` .. `_30`), else as `<dataset>/<table>/*.parquet` or `<dataset>/<table>.parquet`.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import duckdb

from sdfirst.database import files_sql, year_file_sql
from sdfirst.schema_check import choose_datasets, expected_tables, table_files
from sdfirst.specs import table, year_of


def find_tables(folder: str | Path, names: Collection[str] | str | None = "all") -> dict[str, list[Path]]:
    """`dataset.table` -> its files, for every table of the named datasets that the folder holds."""
    found = {}
    for spec in expected_tables(choose_datasets(list(names) if not isinstance(names, str) and names else names)):
        files = table_files(Path(folder), spec)
        if files:
            found[spec.key] = files
    return found


def view_sql(key: str, files: list[Path]) -> str:
    """The SELECT of one table's files, in the format its spec gives; a table split by year file by file, under the
    table's names (`database.year_file_sql`)."""
    spec = table(key)
    fmt = spec.files.format if spec.files else "parquet"
    paths = [str(p.resolve()) for p in files]
    if spec.files is None or spec.files.by is None:
        return f"SELECT * FROM {files_sql(paths, fmt, spec.release_types)}"
    parts = []
    for path in paths:
        year = year_of(Path(path).name)
        present = [c.name for c in spec.file_columns(year)]
        parts.append(
            year_file_sql(path, fmt, spec.release_types, present, spec.files.suffix(year), spec.files.by, year)
        )
    return " UNION ALL ".join(parts)


def open_tables(
    con: duckdb.DuckDBPyConnection, folder: str | Path, names: Collection[str] | str | None = "all"
) -> list[str]:
    """Create a view `dataset.table` in `con` for every table of the named datasets found in the folder; returns
    their keys."""
    found = find_tables(folder, names)
    for key, files in found.items():
        dataset, name = key.split(".", 1)
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
        con.execute(f'CREATE VIEW "{dataset}"."{name}" AS {view_sql(key, files)}')
    return list(found)
