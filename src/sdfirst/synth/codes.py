"""Code lists of the specs as ordered lookups: a process holds small integers, the specs say what they mean.

A process names the codes its rules need by key (`disposals["fine"]`), never by position, and a table builder turns
the integers into the labels a dataset records (`disposals.strings(index)`). The order of the codes, and their
labels, are those of `synthetic/code_lists.yaml`, read when first asked for in a run (so overrides reach them).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sdfirst.specs import code_lists, derived_cache
from sdfirst.synth.columns import labels


@dataclass(frozen=True)
class CodeList:
    """Keys and labels in the order the spec gives them; index i is key i, recorded as label i."""

    name: str
    keys: tuple[str, ...]
    labels: tuple[str, ...]

    def __getitem__(self, key: str) -> int:
        """The index of a key (a KeyError names the list: a key the code needs is missing from the spec)."""
        try:
            return self.keys.index(key)
        except ValueError:
            raise KeyError(f"code list {self.name!r} has no code {key!r}") from None

    def __len__(self) -> int:
        return len(self.keys)

    def indices(self, *keys: str) -> np.ndarray:
        """The indices of several keys, for `np.isin`."""
        return np.array([self[key] for key in keys], dtype=np.int64)

    def strings(self, index: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
        """The label of each index; a negative index (no code), or a row marked missing, is null."""
        return labels(self.labels, index, missing)


@functools.cache
def code_list(name: str, field: str = "codes") -> CodeList:
    """The code list `name` of code_lists.yaml: its `field` mapping of key to label."""
    entry = code_lists()[name]
    codes: Mapping[str, str] = entry[field]
    return CodeList(name, tuple(codes), tuple(str(label) for label in codes.values()))


derived_cache(code_list.cache_clear)
