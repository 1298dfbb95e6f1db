"""Writing tables: conformed to their spec, hashed independently of row order, and never half-written.

A run writes into a temporary folder next to the destination and renames it into place at the end, so an
interrupted run leaves nothing that looks like a finished dataset. Parquet settings are fixed so that the
same data give the same bytes with the same library versions; the published content hash (a sum of row
hashes modulo 2**64) does not depend on row order, file layout or the Parquet writer at all.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from datafirst.exceptions import DataFirstError
from datafirst.specs import TableSpec

PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "row_group_size": 1_000_000,
    "write_statistics": True,
    "use_dictionary": True,
}


def conform(spec: TableSpec, columns: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    """A table with exactly the spec's columns, in its order and types; anything else is a bug, loudly."""
    if list(columns) != spec.column_names:
        extra = set(columns) - set(spec.column_names)
        missing = set(spec.column_names) - set(columns)
        raise ValueError(
            f"{spec.key}: columns differ from spec (extra {sorted(extra)}, missing {sorted(missing)}, "
            "or another order)"
        )
    arrays = []
    for col in spec.columns:
        values = columns[col.name]
        array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
        if array.type != col.arrow_type:
            array = array.cast(col.arrow_type)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=spec.schema)


def content_hash(table: pa.Table) -> int:
    """Order-independent hash of a table's rows: the sum, modulo 2**64, of pandas' stable row hashes."""
    if table.num_rows == 0:
        return 0
    frame = table.to_pandas(types_mapper=None, date_as_object=False)
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    return int(rows.sum(dtype=np.uint64))


def combine_hashes(values: list[int]) -> str:
    return f"{sum(values) % 2**64:016x}"


def write_part(table: pa.Table, folder: Path, chunk: int) -> str:
    """Write one chunk's rows of a table; returns the file name relative to the output root."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"part-{chunk:05d}.parquet"
    pq.write_table(table, path, **PARQUET_OPTIONS)
    return path.name


def temporary_folder(out: Path) -> Path:
    """A fresh temporary folder beside the destination (same file system, so the final rename is atomic)."""
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def check_destination(out: Path, overwrite: bool) -> None:
    """Refuse to overwrite silently, and fail before any work if the destination cannot be written."""
    if out.exists() and not out.is_dir():
        raise DataFirstError(f"output path {out} exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise DataFirstError(
            f"output folder {out} already exists and is not empty (use --overwrite to replace it)"
        )
    parent = out.parent if out.parent != Path("") else Path(".")
    if not parent.exists():
        try:
            parent.mkdir(parents=True)
        except OSError as exc:
            raise DataFirstError(f"cannot create {parent}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise DataFirstError(f"cannot write to {parent}: permission denied")


def move_into_place(tmp: Path, out: Path) -> None:
    """Replace the destination by the finished temporary folder."""
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old)
    else:
        tmp.rename(out)
