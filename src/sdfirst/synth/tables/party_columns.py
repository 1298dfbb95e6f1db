"""Columns that the family and civil court tables make the same way: party ids, court names, event order.

Not a table builder (it has no `build`): the two builders map their own process results and call these for the
columns they share, so that neither builder imports the other.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdfirst.synth.ids import id_key, mix64, to_hex
from sdfirst.synth.world import World


def court_names(world: World, fmt: str, sector: np.ndarray) -> pa.Array:
    """The court of the town serving each postcode sector (the same towns as the criminal courts' names)."""
    before, after = fmt.split("{town}")
    town = world.hoods.town.take(pa.array(np.asarray(sector, dtype=np.int64)))
    return pc.binary_join_element_wise(pa.scalar(before), town, pa.scalar(after), "")


def organisation_keys(world: World, kind: str, index: np.ndarray) -> pa.Array:
    """Stable hashed party ids of organisations (a council, a company): the same in every chunk."""
    raw = np.asarray(index, dtype=np.uint64)
    return to_hex(mix64(raw ^ id_key(world.seed, kind)))


def scatter(values: pa.Array, rows: np.ndarray, n: int) -> pa.Array:
    """Place values at `rows` of an n-long column, nulls elsewhere (identity columns of organisation rows)."""
    where = np.full(n, -1, dtype=np.int64)
    where[rows] = np.arange(len(rows))
    return values.take(pa.array(np.maximum(where, 0), mask=where < 0))


def null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def as_strings(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(values.astype(object, copy=False), type=pa.string(), mask=mask)


def sequence_in_group(group: np.ndarray) -> np.ndarray:
    """1, 2, 3 ... within runs of equal values of a sorted key (the order of events within a case)."""
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, group[1:] != group[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(group)), 0))
    return np.arange(len(group)) - first + 1
