"""Coverage that falls away: records thin out in a straight line as the Common Platform takes cases over."""

from __future__ import annotations

import numpy as np

from sdfirst.journeys.survival import coverage_end
from sdfirst.specs import datasets
from sdfirst.synth import dates
from sdfirst.synth.world import Window, World

CROWN = "crown_court"


def _world(chunk: int = 0) -> World:
    return World(seed=11, chunk=chunk, first_id=0, n_people=10, window=Window.of_years(2000, 2023))


def test_the_share_kept_falls_in_a_straight_line_to_kept_at_end():
    spec = datasets()[CROWN]
    start, end = dates.day(spec.fall_away.start), dates.day(spec.coverage[1])
    n = 400_000
    days = np.linspace(start - 365, end, n).astype(np.int64)
    kept = _world().covered(CROWN, days, np.arange(n))
    assert kept[days < start].all()
    for lo, hi in [(0.0, 0.1), (0.45, 0.55), (0.9, 1.0)]:
        inside = (days >= start + lo * (end - start)) & (days <= start + hi * (end - start))
        expected = 1 - (lo + hi) / 2 * (1 - spec.fall_away.kept_at_end)
        share = kept[inside].mean()
        assert abs(share - expected) < 4 * (expected * (1 - expected) / inside.sum()) ** 0.5 + 0.01
    assert not _world().covered(CROWN, np.array([end + 1]), np.array([0])).any()


def test_a_record_s_key_decides_and_chunks_draw_apart():
    """The same key gives the same decision (so a table and the truth agree), another chunk another draw."""
    spec = datasets()[CROWN]
    day = dates.day(spec.fall_away.start) + 300
    keys = np.arange(20_000)
    days = np.full(len(keys), day)
    first, again = _world().covered(CROWN, days, keys), _world().covered(CROWN, days, keys)
    assert (first == again).all()
    assert 0.2 < first.mean() < 0.95
    assert (first != _world(chunk=1).covered(CROWN, days, keys)).mean() > 0.1
    assert (first != _world().covered(CROWN, days, keys, "other")).mean() > 0.1


def test_follow_up_ends_before_the_magistrates_data_fall_away():
    mags = datasets()["magistrates"]
    assert mags.complete_until < mags.fall_away.start < mags.coverage[1]
    assert coverage_end().isoformat() == mags.complete_until
