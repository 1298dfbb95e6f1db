"""Random streams that do not depend on how the work is split.

Every chunk of people, and every process simulated for it, gets its own stream derived from the user's seed
through :class:`numpy.random.SeedSequence`. A stream is named, not numbered in call order, so adding a process
does not shift the random numbers of the others, and any number of workers gives the same bytes.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable integer for a stream name (crc32 does not change between Python processes, unlike hash())."""
    return zlib.crc32(name.encode("utf-8"))


def rng_for(seed: int, chunk: int, stream: str) -> np.random.Generator:
    """The random generator of one named process in one chunk of people."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chunk, stream_key(stream))))


def rng_global(seed: int, stream: str) -> np.random.Generator:
    """A generator for run-wide pools (names, neighbourhoods), shared by all chunks."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31, stream_key(stream))))


def seed_int(seed: int, stream: str) -> int:
    """A 32-bit integer seed for libraries that take one (Faker's seed_instance)."""
    return int(rng_global(seed, stream).integers(0, 2**31 - 1))
