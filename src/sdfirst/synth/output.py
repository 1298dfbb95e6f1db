"""Writing tables: conformed to their spec, hashed independently of row order, and never half-written.

A run writes into a temporary folder next to the destination and renames it into place at the end, so an
interrupted run leaves nothing that looks like a finished dataset. Parquet settings are fixed so that the
same data give the same bytes with the same library versions; the published content hash (a sum of DuckDB row
hashes modulo 2**64) does not depend on row order, file layout or the Parquet writer at all.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sdfirst import stopping
from sdfirst.database import GENERATOR, MANIFEST
from sdfirst.exceptions import DataFirstError
from sdfirst.specs import TableSpec
from sdfirst.synth.columns import Deferred

PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 1,
    "row_group_size": 1_000_000,
    "use_dictionary": True,
    # A column falls back to plain encoding once its dictionary passes this size. Codes and names stay well
    # under it; for near-unique columns (hashed keys, postcodes) the default 1 MB only delays the fallback,
    # and that wasted dictionary work was a tenth of the writing time.
    "dictionary_pagesize_limit": 64 * 1024,
}


def conform(spec: TableSpec, columns: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    """A table with exactly the spec's columns, in its order and types; anything else is a bug, loudly."""
    if list(columns) != spec.column_names:
        extra = set(columns) - set(spec.column_names)
        missing = set(spec.column_names) - set(columns)
        raise ValueError(
            f"{spec.key}: columns differ from spec (extra {sorted(extra)}, missing {sorted(missing)}, or another order)"
        )
    arrays = []
    for col in spec.columns:
        values = columns[col.name]
        if isinstance(values, Deferred):
            values = values.made()
        array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
        if array.type != col.arrow_type:
            array = array.cast(col.arrow_type)
        arrays.append(array)
    if any(c.years is not None for c in spec.columns):
        arrays = _within_years(spec, arrays)
    return pa.Table.from_arrays(arrays, schema=spec.schema)


def _within_years(spec: TableSpec, arrays: list[pa.Array]) -> list[pa.Array]:
    """The arrays with a column that only some years' files have (`years` in its spec) empty in the other years:
    what the release holds, so that the table's content hash is that of its files."""
    year = np.asarray(arrays[spec.column_names.index(spec.files.by)].to_numpy(zero_copy_only=False))
    out = []
    for column, array in zip(spec.columns, arrays, strict=True):
        if column.years is not None:
            within = pa.array(np.broadcast_to(column.in_year(year), year.shape))
            array = pc.if_else(within, array, pa.nulls(len(year), array.type))
        out.append(array)
    return out


@functools.cache
def _hasher(pid: int) -> duckdb.DuckDBPyConnection:
    """One single-threaded DuckDB connection per process (keyed on the process id, so that a worker forked after
    the parent has hashed never uses the parent's connection); workers are the parallelism."""
    con = duckdb.connect()
    con.execute("SET threads = 1")
    return con


def content_hash(table: pa.Table) -> int:
    """Order-independent hash of a table's rows: the sum, modulo 2**64, of DuckDB's 64-bit hash of each row.

    A row's hash combines its values in column order, so swapping two values between columns changes it; summing
    rows makes the result independent of row order and of how rows are split into files. It depends on the values
    and on DuckDB's hash function, not on pandas, pyarrow or the Parquet writer: compare manifests made with the
    same DuckDB version. DuckDB is used because it hashes several times faster than numpy can here.
    """
    return content_hashes([table])[0]


def content_hashes(tables: list[pa.Table]) -> list[int]:
    """content_hash of several tables in one query: each query costs milliseconds before it reads a row, and a
    chunk writes thirty tables."""
    con = _hasher(os.getpid())
    names = [f"content_hash_{i}" for i in range(len(tables))]
    selects = []
    for i, (name, table) in enumerate(zip(names, tables, strict=True)):
        con.register(name, table)
        columns = ", ".join('"' + column.replace('"', '""') + '"' for column in table.column_names)
        selects.append(f"SELECT {i} AS i, sum(hash({columns})) % {2**64} AS total FROM {name}")
    try:
        rows = con.execute(" UNION ALL ".join(selects)).fetchall() if tables else []
    finally:
        for name in names:
            con.unregister(name)
    totals = dict(rows)
    return [int(totals[i] or 0) for i in range(len(tables))]


def combine_hashes(values: list[int]) -> str:
    return f"{sum(values) % 2**64:016x}"


def write_part(table: pa.Table, folder: Path, chunk: int) -> str:
    """Write one chunk's rows of a table; returns the file name relative to the output root."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"part-{chunk:05d}.parquet"
    pq.write_table(table, path, **parquet_options(table))
    return path.name


def parquet_options(table: pa.Table) -> dict:
    """The options every Parquet file of the generator is written with, for a table like this one."""
    return {"write_statistics": _with_statistics(table.schema), **_encodings(table)}


def _encodings(table: pa.Table) -> dict:
    """The Parquet options for a table: PARQUET_OPTIONS, except for columns of near-unique strings.

    Hashed keys and the like (judged on a sample: nearly every value differs) skip the dictionary, which they would
    only fill and abandon, and store their lengths delta-encoded rather than before each value: that writes a
    tenth faster and a twentieth smaller. DuckDB, pyarrow, R's arrow and Spark all read the encoding.
    """
    unique = [name for name in table.column_names if _near_unique(table.column(name))]
    if not unique:
        return PARQUET_OPTIONS
    return PARQUET_OPTIONS | {
        "use_dictionary": [name for name in table.column_names if name not in unique],
        "column_encoding": dict.fromkeys(unique, "DELTA_LENGTH_BYTE_ARRAY"),
    }


def _near_unique(column: pa.ChunkedArray, sample: int = 1000) -> bool:
    """Whether at least nine in ten of the first `sample` values of a string column differ."""
    if not pa.types.is_string(column.type):
        return False
    head = column.slice(0, sample)
    return len(head) >= 100 and pc.count_distinct(head).as_py() >= 0.9 * len(head)


def _with_statistics(schema: pa.Schema) -> list[str] | bool:
    """Columns that get min/max statistics: dates and numbers, which let a reader skip files on a date range.
    Strings get none: the range of random keys, names or codes rules nothing out, and working it out took an
    eighth of the writing time."""
    return [field.name for field in schema if not pa.types.is_string(field.type)] or False


_PARTIAL = ".{name}.partial-"  # then the process id: a temporary folder beside the destination


def temporary_folder(out: Path) -> Path:
    """A fresh temporary folder beside the destination (same file system, so the final rename is atomic).

    Temporary folders left by a run that was killed outright (SIGKILL, a power cut) are removed first: their
    process is gone, so nothing will finish them. A folder whose process still runs is another run's, and left.
    Being the first thing a command writes, this is also where an unwritable destination is found, before the work.
    """
    clear_stale(out)
    tmp = out.parent / f"{_PARTIAL.format(name=out.name)}{os.getpid()}"
    try:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
    except OSError as exc:
        raise DataFirstError(f"cannot write to {out.parent}: {exc.strerror or exc}") from None
    return tmp


def clear_stale(out: Path) -> list[Path]:
    """Remove the temporary folders of `out` whose process has died; returns what was removed."""
    removed = []
    prefix = _PARTIAL.format(name=out.name)
    candidates = out.parent.glob(f"{glob.escape(prefix)}*") if out.parent.is_dir() else []
    for path in candidates:
        pid = path.name[len(prefix) :]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _running(pid: int) -> bool:
    """Whether a process of this id exists (signal 0 tests without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def check_destination(out: Path, overwrite: bool) -> None:
    """Refuse to overwrite silently or destroy anything that is not ours, before any work is done."""
    if out.exists() and not out.is_dir():
        raise DataFirstError(f"output path {out} exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise DataFirstError(f"output folder {out} already exists and is not empty (use --overwrite to replace it)")
        if not _is_generated(out):
            raise DataFirstError(f"refusing to overwrite {out}: it is not a folder this generator wrote (no manifest)")
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise DataFirstError(f"cannot write to {out}: {parent} is a file, not a folder")
    if not parent.exists():
        try:
            parent.mkdir(parents=True)
        except OSError as exc:
            raise DataFirstError(f"cannot create {parent}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise DataFirstError(f"cannot write to {parent}: permission denied")


def _is_generated(folder: Path) -> bool:
    """Whether a folder holds an earlier run's output, the only non-empty folder --overwrite may replace.

    Only the manifest's `generator` counts, not the rest of it (`read_manifest`): a damaged earlier output is
    still ours to replace.
    """
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("generator") == GENERATOR


def move_into_place(tmp: Path, out: Path) -> None:
    """Replace the destination by the finished temporary folder, unless the command was asked to stop meanwhile."""
    stopping.raise_if_stopped()
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old)
    else:
        tmp.rename(out)
