"""The release's layout: the tables a researcher receives, and the identified records kept apart from them.

A real Data First extract has no names, dates of birth or postcodes: MoJ's linking team links on them and releases
only the result. So every table is written without its identifier columns (the spec marks them `identifier: true`),
and the identifiers go to a companion under `identified/<dataset>/<table>/`, keyed by `row_id_hash`: what the
linking team works from, which the linkage chapters need and no release holds. A table whose release file names are
known (`files:` in its spec, such as probation's `moj_probation_flatfile_01` .. `_30`) is then re-cut from the
chunks' parts into those files, in the release's format.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sdfirst.exceptions import DataFirstError
from sdfirst.specs import TableSpec
from sdfirst.synth.output import parquet_options

IDENTIFIED = "identified"


def split(spec: TableSpec, data: pa.Table) -> tuple[pa.Table, pa.Table | None]:
    """The release's rows (every column but the identifiers) and the identified companion (`row_id_hash` and the
    identifiers), or None for a table without identifiers."""
    identifiers = [c.name for c in spec.columns if c.identifier]
    if not identifiers:
        return data, None
    released = data.drop_columns(identifiers)
    return released, data.select(["row_id_hash", *identifiers])


def companion_folder(root: Path, spec: TableSpec) -> Path:
    return root / IDENTIFIED / spec.dataset / spec.name


def part_name(chunk: int) -> str:
    return f"part-{chunk:05d}.parquet"


def chunk_files(spec: TableSpec, chunks: int) -> list[str]:
    """The chunks' part files of a table, relative to the output root, in chunk order."""
    return [f"{spec.dataset}/{spec.name}/{part_name(c)}" for c in range(chunks)]


class _Sink(Protocol):
    def write_table(self, table: pa.Table) -> None: ...
    def close(self) -> None: ...


def _sink(path: Path, schema: pa.Schema, fmt: str, options: dict) -> _Sink:
    if fmt == "csv":  # text takes no Parquet options
        return pacsv.CSVWriter(path, schema)
    options = dict(options)
    row_group_size = options.pop("row_group_size")
    writer = pq.ParquetWriter(path, schema, **options)

    class _Grouped:
        """Row groups of the same size as a whole-table write, however the rows arrive."""

        def write_table(self, table: pa.Table) -> None:
            writer.write_table(table, row_group_size=row_group_size)

        def close(self) -> None:
            writer.close()

    return _Grouped()


def release_files(root: Path, spec: TableSpec, chunks: int, rows: int) -> list[str]:
    """Re-cut a table's chunk parts into the release's files (in `<dataset>/`), and return their names relative to
    `root`; a table with no `files:` keeps its parts. Rows keep their order: chunk by chunk, as generated.

    Split into `parts` files, file i holds rows i*rows//parts up to the next (every file is written, even one with no
    rows, as code reads all of them); split `by` a column, there is one file per value, in order of value; else the
    table is one file.
    """
    files = spec.files
    if files is None:
        return chunk_files(spec, chunks)
    parts = [root / name for name in chunk_files(spec, chunks)]
    options = parquet_options(pq.read_table(parts[0])) if files.format == "parquet" else {}
    sinks: dict[str, _Sink] = {}

    def sink(name: str, schema: pa.Schema) -> _Sink:
        if name not in sinks:
            sinks[name] = _sink(root / spec.dataset / name, schema, files.format, options)
        return sinks[name]

    try:
        if files.parts is not None:
            names = [files.name.format(part=i + 1) for i in range(files.parts)]
            schema = pq.read_schema(parts[0])
            for name in names:
                sink(name, schema)
            bounds = [i * rows // files.parts for i in range(files.parts + 1)]
            start = 0
            for path in parts:
                table = pq.read_table(path)
                _route_by_position(table, start, bounds, [sinks[n] for n in names])
                start += table.num_rows
        elif files.by is not None:
            for path in parts:
                table = pq.read_table(path)
                for value, rows_of in _groups(table, spec.key, files.by):
                    rows_of = suffixed(year_file(spec, rows_of, value), files.suffix(value))
                    sink(files.name.format(year=value), rows_of.schema).write_table(rows_of)
        else:  # one file
            schema = pq.read_schema(parts[0])
            for path in parts:
                sink(files.name, schema).write_table(pq.read_table(path))
    finally:
        for writer in sinks.values():
            writer.close()
    shutil.rmtree(root / spec.dataset / spec.name)
    return [f"{spec.dataset}/{name}" for name in sorted(sinks)]


def year_file(spec: TableSpec, rows: pa.Table, year: int) -> pa.Table:
    """The rows of one year's file, with the columns that file has (`TableSpec.file_columns`): the year itself is in
    the file's name, and a column the year's file lacks must hold nothing that year, or it would be lost."""
    keep = [c.name for c in spec.file_columns(year)]
    for name in rows.column_names:
        if name not in keep and name != spec.files.by and rows.column(name).null_count < rows.num_rows:
            raise DataFirstError(f"{spec.key}: {name} has values in {year}, but the file of {year} has no such column")
    return rows.select(keep)


def suffixed(table: pa.Table, suffix: str) -> pa.Table:
    """The table with every column renamed to end in `suffix` (the year of an NPD file)."""
    if not suffix:
        return table
    return table.rename_columns([f"{n}{suffix}" for n in table.column_names])


def _route_by_position(table: pa.Table, start: int, bounds: list[int], sinks: list[_Sink]) -> None:
    """Send the rows start .. start+len(table) of a table to the files whose ranges (`bounds`) they fall in."""
    end = start + table.num_rows
    for i, sink in enumerate(sinks):
        low, high = max(bounds[i], start), min(bounds[i + 1], end)
        if low < high:
            sink.write_table(table.slice(low - start, high - low))


def _groups(table: pa.Table, key: str, column: str) -> list[tuple[int, pa.Table]]:
    values = table.column(column)
    if values.null_count:
        raise DataFirstError(f"{key}: {column} names the release's files, so it cannot be missing")
    out = []
    for value in np.unique(values.to_numpy()):
        out.append((int(value), table.filter(pc.equal(values, pa.scalar(value, values.type)))))
    return out
