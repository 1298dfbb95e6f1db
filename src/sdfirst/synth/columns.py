"""Arrow string columns from numpy results, by index into a short list of values.

Converting a numpy array of strings (fixed-width or object) to Arrow costs about 100 ns a row, ten times as much
as taking from a short Arrow array by index. Code lists, flags and years have few distinct values, so builders
keep them as integer indices and turn them into strings here, once, at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa


def labels(values: Sequence[str], index: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """values[index] as strings; a negative index, or a row marked missing, is null."""
    index = np.asarray(index, dtype=np.int64)
    mask = index < 0 if missing is None else (index < 0) | np.asarray(missing, dtype=bool)
    if not mask.any():
        return pa.array(values, pa.string()).take(pa.array(index))
    return pa.array(values, pa.string()).take(pa.array(np.where(mask, 0, index), mask=mask))


def looked_up(values: np.ndarray, mapping: Mapping[Any, Any]) -> np.ndarray:
    """mapping[v] for each value v, looking each distinct value up once (values are few, rows many)."""
    distinct, inverse = np.unique(np.asarray(values), return_inverse=True)
    return np.array([mapping[v] for v in distinct.tolist()], dtype=object)[inverse.reshape(-1)]


def either(condition: np.ndarray, yes: str, no: str, missing: np.ndarray | None = None) -> pa.Array:
    """yes where the condition holds, else no (null where missing)."""
    return labels([no, yes], np.asarray(condition, dtype=bool).astype(np.int64), missing)


def year_labels(year: np.ndarray, label) -> pa.Array:
    """label(y) for each year y, working out each distinct year's label once."""
    year = np.asarray(year, dtype=np.int64)
    if len(year) == 0:
        return pa.array([], pa.string())
    first = int(year.min())
    return labels([label(y) for y in range(first, int(year.max()) + 1)], year - first)


@dataclass(frozen=True)
class Deferred:
    """A column to be made from row-aligned arrays when the table is written, rather than when it is built.

    The runner shuffles every table's rows before writing it. Permuting a string column is a random gather from a
    large buffer; permuting the integer arrays a column is made from and then making it costs a fraction of that.
    `make` must be a pure function of the arrays (no random draws), so that the order of rows cannot change a value.
    """

    make: Callable[..., pa.Array]
    rows: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.rows[0])

    def take(self, order: np.ndarray) -> Deferred:
        return Deferred(self.make, tuple(np.asarray(row)[order] for row in self.rows))

    def made(self) -> pa.Array:
        return self.make(*self.rows)


def defer(make: Callable[..., pa.Array], *rows: np.ndarray) -> Deferred:
    """make(*rows), made when the table is written (see Deferred)."""
    return Deferred(make, rows)


def taken_from(source: pa.Array) -> Callable[[np.ndarray], pa.Array]:
    """A function of an index array: the source's values at those indices."""
    return lambda index: source.take(pa.array(index))
