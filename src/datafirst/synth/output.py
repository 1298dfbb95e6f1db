"""Writing tables: conformed to their spec, hashed independently of row order, and never half-written.

A run writes into a temporary folder next to the destination and renames it into place at the end, so an
interrupted run leaves nothing that looks like a finished dataset. Parquet settings are fixed so that the
same data give the same bytes with the same library versions; the published content hash (a sum of row
hashes modulo 2**64) does not depend on row order, file layout or the Parquet writer at all.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datafirst.exceptions import DataFirstError
from datafirst.specs import TableSpec
from datafirst.synth.ids import mix64

_NULL = np.uint64(0x9E3779B97F4A7C15)

PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 1,
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
            f"{spec.key}: columns differ from spec (extra {sorted(extra)}, missing {sorted(missing)}, or another order)"
        )
    arrays = []
    for col in spec.columns:
        values = columns[col.name]
        array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
        if array.type != col.arrow_type:
            array = array.cast(col.arrow_type)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=spec.schema)


def _padded_words(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Each string's UTF-8 bytes zero-padded to a multiple of 8 and read as 64-bit words, with the lengths."""
    array = array.cast(pa.large_string())
    _, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[-1]] if data_buf else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    n = len(lengths)
    width = max(8, -(-int(lengths.max(initial=0)) // 8) * 8)
    matrix = np.zeros((n, width), dtype=np.uint8)
    if n and lengths.min() == lengths.max():
        matrix[:, : lengths[0]] = data.reshape(n, lengths[0])
    elif len(data):
        rows = np.repeat(np.arange(n), lengths)
        cols = np.arange(len(data)) - np.repeat(offsets[:-1] - offsets[0], lengths)
        matrix[rows, cols] = data
    return matrix.view("<u8"), lengths.astype(np.uint64)


def _unique_string_hashes(array: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string, chained over its 8-byte words and its length."""
    words, lengths = _padded_words(array)
    hashes = mix64(lengths)
    for k in range(words.shape[1]):
        hashes = mix64(hashes ^ words[:, k])
    return hashes


def _string_hashes(array: pa.Array) -> np.ndarray:
    """Hashes of a string column. Strings of one length (hashed keys) are hashed directly; otherwise only the
    distinct values are hashed and then looked up, which is far cheaper for names, codes and labels."""
    lengths = pc.binary_length(array)
    if array.null_count == 0 and pc.min(lengths).as_py() == pc.max(lengths).as_py():
        return _unique_string_hashes(array)
    encoded = array.dictionary_encode()
    unique = _unique_string_hashes(encoded.dictionary)
    index = encoded.indices.fill_null(0).to_numpy().astype(np.int64)
    return unique[index] if len(unique) else np.zeros(len(array), dtype=np.uint64)


def _column_hashes(array: pa.Array) -> np.ndarray:
    """A 64-bit hash per value of one column; nulls get their own value."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        hashes = _string_hashes(array)
    else:
        if pa.types.is_boolean(array.type):
            values = array.fill_null(False).to_numpy(zero_copy_only=False).astype(np.uint64)
        elif pa.types.is_date32(array.type):
            values = array.cast(pa.int32()).fill_null(0).to_numpy().astype(np.int64).view(np.uint64)
        elif pa.types.is_floating(array.type):
            values = array.fill_null(0.0).to_numpy().astype(np.float64).view(np.uint64)
        else:
            values = array.fill_null(0).to_numpy().astype(np.int64).view(np.uint64)
        hashes = mix64(values)
    if array.null_count:
        hashes = np.where(array.is_null().to_numpy(zero_copy_only=False), _NULL, hashes)
    return hashes


def content_hash(table: pa.Table) -> int:
    """Order-independent hash of a table's rows: the sum, modulo 2**64, of a 64-bit hash of each row.

    A row's hash chains its columns' hashes in column order, so swapping two values between columns changes it;
    summing rows makes the result independent of row order and of how rows are split into files. It depends only
    on the values, not on pandas, pyarrow or Parquet versions.
    """
    row = np.full(table.num_rows, mix64(np.array([table.num_columns], dtype=np.uint64))[0], dtype=np.uint64)
    for column in table.columns:
        row = mix64(row ^ _column_hashes(column))
    with np.errstate(over="ignore"):
        return int(row.sum(dtype=np.uint64))


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
    """Whether a folder holds an earlier run's output, the only non-empty folder --overwrite may replace."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("generator") == "datafirst"


def move_into_place(tmp: Path, out: Path) -> None:
    """Replace the destination by the finished temporary folder."""
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old)
    else:
        tmp.rename(out)
