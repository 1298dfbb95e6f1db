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


class ScalarIntegers:
    """`Generator.integers(low, high)` one value at a time, for the few loops that cannot be vectorised.

    numpy spends about two microseconds on each scalar call; the name pools make hundreds of thousands of them.
    This reads the generator's raw 64-bit stream in blocks and applies numpy's own method for a bounded integer
    (Lemire's multiply-and-reject on 32-bit halves, low half first), so it returns exactly the values, and leaves
    the generator in exactly the state, that the same calls to `rng.integers` would. Use it as a context manager:
    the generator's state is settled on exit. Only PCG64, numpy's default, is supported.
    """

    _BLOCK = 1 << 14

    def __init__(self, rng: np.random.Generator) -> None:
        if not isinstance(rng.bit_generator, np.random.PCG64):
            raise TypeError("ScalarIntegers needs a PCG64 generator")
        self._bits = rng.bit_generator
        self._start = self._bits.state
        self._buffered = int(self._start["has_uint32"])
        self._halves: list[int] = [self._start["uinteger"]] if self._buffered else []
        self._used = 0

    def __enter__(self) -> ScalarIntegers:
        return self

    def __exit__(self, *_) -> None:
        """Put the generator where numpy's own calls would have left it."""
        self._bits.state = self._start
        if self._used == 0:
            return
        raw_halves = self._used - self._buffered
        raws = (raw_halves + 1) // 2
        self._bits.random_raw(raws)
        settled = self._bits.state
        settled["has_uint32"] = raw_halves % 2
        if raws:  # numpy keeps the high half of its last raw draw, used or not
            settled["uinteger"] = self._halves[self._buffered + 2 * raws - 1]
        self._bits.state = settled

    def _refill(self) -> None:
        """Read the next block of raw draws; nothing else draws from the generator inside the context."""
        raw = self._bits.random_raw(self._BLOCK)
        self._halves.extend(np.column_stack((raw & 0xFFFFFFFF, raw >> 32)).ravel().tolist())

    def _next32(self) -> int:
        if self._used == len(self._halves):
            self._refill()
        self._used += 1
        return self._halves[self._used - 1]

    def __call__(self, low: int, high: int) -> int:
        """One integer in [low, high), as rng.integers(low, high) would give it."""
        span = high - low - 1
        if span == 0:
            return low  # numpy draws nothing for a range of one value
        if not 0 < span < 0xFFFFFFFF:
            raise ValueError("ScalarIntegers supports ranges of 2 to 2**32 - 1 values")
        excl = span + 1
        if self._used == len(self._halves):  # _next32 written out: this line runs hundreds of thousands of times
            self._refill()
        product = self._halves[self._used] * excl
        self._used += 1
        if (product & 0xFFFFFFFF) < excl:
            threshold = (0xFFFFFFFF - span) % excl
            while (product & 0xFFFFFFFF) < threshold:
                product = self._next32() * excl
        return low + (product >> 32)
