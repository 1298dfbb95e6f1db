"""Table builders: one module per dataset, each turning the simulated world into that dataset's tables.

A builder is `build(world) -> dict[table name, Built]`. It returns columns by name (numpy arrays, pyarrow
arrays, or `Deferred` columns that are made only after the rows are shuffled) and, for every row, the
chunk-local index of the true person (-1 for a row that is not a person, such as a company). The runner
conforms the columns to the spec in `synthetic/datasets/` (exact names, order and types) and writes the truth
map from each row's `row_id_hash` to its person.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sdfirst.synth.columns import Deferred


@dataclass
class Built:
    columns: dict[str, pa.Array | np.ndarray | Deferred]
    person: np.ndarray

    def __post_init__(self) -> None:
        lengths = {name: len(col) for name, col in self.columns.items()}
        if len(set(lengths.values()) | {len(self.person)}) > 1:
            raise ValueError(f"columns of unequal length: {lengths}, person {len(self.person)}")

    def rows(self, index: np.ndarray) -> Built:
        """The rows at `index`, in that order: a table less the records that were never made (omitted)."""
        index = np.asarray(index, dtype=np.int64)
        take = pa.array(index)
        columns = {name: _taken(col, index, take) for name, col in self.columns.items()}
        return Built(columns, self.person[index])

    def made(self) -> Built:
        """The same rows with every Deferred column made, in the order built (for reading a builder directly)."""
        columns = {name: col.made() if isinstance(col, Deferred) else col for name, col in self.columns.items()}
        return Built(columns, self.person)


def _taken(column: pa.Array | np.ndarray | Deferred, index: np.ndarray, take: pa.Array):
    if isinstance(column, Deferred):
        return column.take(index)
    if isinstance(column, pa.Array):
        return column.take(take)
    return np.asarray(column)[index]


def builder(dataset: str) -> Callable[..., dict[str, Built]]:
    """The build function of a dataset (module sdfirst.synth.tables.<dataset>)."""
    return importlib.import_module(f"sdfirst.synth.tables.{dataset}").build
