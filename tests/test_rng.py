"""Random streams: the fast scalar draws give exactly what numpy's own calls give, and leave the same state."""

from __future__ import annotations

import numpy as np
import pytest

from sdfirst.synth.rng import ScalarIntegers

SPANS = [1, 2, 3, 5, 7, 26, 1000, 2**31, 2**32 - 1]


def _bounds(seed: int, n: int) -> list[tuple[int, int]]:
    meta = np.random.default_rng(seed)
    lows, spans = meta.integers(-3, 5, size=n), meta.choice(SPANS, size=n)
    return [(int(low), int(low) + int(span)) for low, span in zip(lows, spans, strict=True)]


def _pair(seed: int, before: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Two generators in the same state; an odd number of draws before leaves half a raw draw buffered."""
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    for rng in (a, b):
        for _ in range(before):
            rng.integers(0, 7)
    return a, b


@pytest.mark.parametrize("before", [0, 1, 2])
@pytest.mark.parametrize("n", [0, 1, 5, 40_000])  # 40,000 draws cross several blocks
def test_scalar_draws_equal_numpy_and_leave_the_same_state(before, n):
    numpy_rng, fast_rng = _pair(11 + n, before)
    bounds = _bounds(n + before, n)
    expected = [int(numpy_rng.integers(low, high)) for low, high in bounds]
    with ScalarIntegers(fast_rng) as draw:
        got = [draw(low, high) for low, high in bounds]
    assert got == expected
    assert fast_rng.bit_generator.state == numpy_rng.bit_generator.state
    assert fast_rng.random(3).tolist() == numpy_rng.random(3).tolist()


def test_scalar_draws_refuse_what_they_cannot_copy():
    with pytest.raises(TypeError):
        ScalarIntegers(np.random.Generator(np.random.MT19937(1)))
    with ScalarIntegers(np.random.default_rng(1)) as draw, pytest.raises(ValueError):
        draw(0, 2**33)
