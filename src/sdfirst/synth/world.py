"""The simulated world of one chunk of people: the people, run-wide pools, random streams and shared processes.

Processes (offending and the courts, custody and the time inside, temporary release, supervision) are computed
once per chunk, on first use, as cached properties, so that every dataset that reads one tells the same story.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from sdfirst.specs import datasets
from sdfirst.synth import dates
from sdfirst.synth.ids import hex_ids, id_key, mix64
from sdfirst.synth.pools import NamePools, Neighbourhoods, name_pools, neighbourhoods
from sdfirst.synth.population import People, make_people
from sdfirst.synth.rng import rng_for

T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """The years the user asked for, as day numbers; nothing is recorded outside them."""

    start: int
    end: int

    @classmethod
    def of_years(cls, first: int, last: int) -> Window:
        return cls(dates.year_start(first), dates.year_end(last))

    def clip(self, start: str, end: str) -> Window:
        """This window narrowed to a dataset's coverage."""
        return Window(max(self.start, dates.day(start)), min(self.end, dates.day(end)))

    def contains(self, days: np.ndarray) -> np.ndarray:
        return (days >= self.start) & (days <= self.end)


class World:
    """One chunk: everything a dataset module needs to build its tables."""

    def __init__(self, seed: int, chunk: int, first_id: int, n_people: int, window: Window):
        self.seed = seed
        self.chunk = chunk
        self.window = window
        self.pools: NamePools = name_pools(seed)
        self.hoods: Neighbourhoods = neighbourhoods(seed)
        self.people: People = make_people(seed, chunk, first_id, n_people, self.pools, self.hoods)
        self._memo: dict[Hashable, Any] = {}

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        """A value derived from this chunk's people, made once: for lookups that many builders ask for."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def rng(self, stream: str) -> np.random.Generator:
        """The random stream of one named process in this chunk."""
        return rng_for(self.seed, self.chunk, stream)

    def ids(self, kind: str, n: int) -> pa.Array:
        """n new opaque hashed keys of one kind (row_id_hash of a table, case_id_hash, ...)."""
        return hex_ids(self.seed, kind, self.chunk, n)

    def person_keys(self, kind: str, person: np.ndarray, variant: np.ndarray | int = 0) -> np.ndarray:
        """A stable 64-bit key per (person, variant), the same in every chunk that holds the person."""
        raw = self.people.person_id[person].astype(np.uint64) * np.uint64(8) + np.asarray(variant, dtype=np.uint64)
        return mix64(raw ^ id_key(self.seed, kind))

    def coverage(self, start: str, end: str) -> Window:
        return self.window.clip(start, end)

    def dataset_window(self, dataset: str) -> Window:
        """The user's years narrowed to a dataset's coverage (synthetic/datasets/<dataset>.yaml)."""
        start, end = datasets()[dataset].coverage
        return self.coverage(start, end)

    def covered(self, dataset: str, days: np.ndarray, key: np.ndarray, kind: str = "") -> np.ndarray:
        """Which records, dated `days`, a dataset holds: those inside its window and, where its coverage falls
        away, those a draw keeps. The draw is fixed by each record's `key` (unique in the chunk for its `kind`),
        so that every table and the truth agree on which records the dataset lost."""
        inside = self.dataset_window(dataset).contains(days)
        spec = datasets()[dataset]
        if spec.fall_away is None:
            return inside
        start, end = dates.day(spec.fall_away.start), dates.day(spec.coverage[1])
        progress = np.clip((np.asarray(days, dtype=np.int64) - start) / (end - start), 0.0, 1.0)
        kept = 1.0 - progress * (1.0 - spec.fall_away.kept_at_end)
        salt = id_key(self.seed, f"fall_away:{dataset}:{kind}")
        draw = mix64(mix64(np.asarray(key).astype(np.uint64) ^ salt) ^ np.uint64(self.chunk)) / np.float64(2**64)
        return inside & (draw < kept)

    # Shared processes, each computed once per chunk on first use.
    @functools.cached_property
    def offending(self):
        """Every offence with its outcome (caution, conviction, acquittal), as the police would hold it."""
        return self.courts.offending

    @functools.cached_property
    def courts(self):
        """The courts' cases once nobody offends while held and sentences have their effects."""
        from sdfirst.synth.courts import simulate_courts
        from sdfirst.synth.incapacitation import settle

        return settle(self, simulate_courts(self))

    @functools.cached_property
    def custody(self):
        from sdfirst.synth.custody import simulate_custody

        return simulate_custody(self)

    @functools.cached_property
    def time_inside(self):
        """Where each covered custodial journey is held, its prison numbers, OASys assessments and incidents."""
        from sdfirst.synth.custody import simulate_time_inside

        return simulate_time_inside(self)

    @functools.cached_property
    def temporary_release(self):
        """Releases on temporary licence during the covered custodial journeys."""
        from sdfirst.synth.temporary_release import simulate_temporary_release

        return simulate_temporary_release(self)

    @functools.cached_property
    def supervision(self):
        from sdfirst.synth.supervision import simulate_supervision

        return simulate_supervision(self)
