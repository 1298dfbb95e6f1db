"""Release on temporary licence (ROTL): days and nights out during the last months of a sentenced journey.

A journey is eligible once its custodial sentence is long enough and it has served the minimum, in the months
before first release; most eligible journeys are spent in part in open or resettlement conditions. Releases are a
Poisson process over each eligible span, their rate stepping up at the policy date by the documented rate ratio
(synthetic/effects.yaml, `rotl_policy_2019`), so that an interrupted time series can recover it.

Every random number comes from the stream "prison-rotl", used by nothing else, so that this process leaves every
other table byte for byte as it was. Spans are those of the journeys the prison data cover, inside its coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.custody import PRISON, covered_journeys

MONTH = dates.YEAR / 12  # days in a mean month


@dataclass(frozen=True)
class Releases:
    """One row per release on temporary licence, by journey then day."""

    journey: np.ndarray  # index into the covered journeys (custody.covered_journeys)
    day: np.ndarray  # day out
    back: np.ndarray  # day back
    kind: np.ndarray  # index into release_types()
    failed: np.ndarray  # failed to return on time, or breached a condition


def release_types() -> list[str]:
    """The kinds of temporary release, in the order of effects.yaml `rotl_policy_2019.baseline.types`."""
    return list(load_yaml("effects.yaml")["rotl_policy_2019"]["baseline"]["types"])


def _spans(world, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each journey's days of ROTL eligibility: sentenced, long enough, the last months before first release.

    Returns the journey rows (indices into `rows`) and the first and last eligible day of each, inside coverage.
    """
    params = load_yaml("effects.yaml")["rotl_policy_2019"]["baseline"]
    j = world.custody.journeys
    window = world.dataset_window(PRISON)
    start, release = j.start[rows].astype(np.int64), j.first_release[rows].astype(np.int64)
    long_enough = j.sentenced[rows] & (j.sentence_days[rows] >= params["min_sentence_days"])
    first = np.maximum(np.maximum(start + params["min_days_served"], release - params["eligible_days"]), window.start)
    last = np.minimum(release - 1, window.end)
    keep = np.flatnonzero(long_enough & (release != dates.NEVER) & (first <= last))
    return keep, first[keep], last[keep]


def simulate_temporary_release(world) -> Releases:
    """Releases on temporary licence during the covered journeys, before and after the policy date."""
    effect = load_yaml("effects.yaml")["rotl_policy_2019"]
    params = effect["baseline"]
    rng = world.rng("prison-rotl")
    jr, first, last = _spans(world, covered_journeys(world))
    in_open = rng.random(len(jr)) < params["open_conditions_share"]
    jr, first, last = jr[in_open], first[in_open], last[in_open]
    policy = dates.day(str(effect["date"]))
    monthly = params["monthly_rate"]
    pieces = []
    for lo, hi, rate in (
        (first, np.minimum(last, policy - 1), monthly),
        (np.maximum(first, policy), last, monthly * effect["rate_ratio"]),
    ):
        length = np.maximum(hi - lo + 1, 0)
        n = rng.poisson(rate * length / MONTH)
        idx = np.repeat(np.arange(len(jr)), n)
        day = lo[idx] + (rng.random(len(idx)) * length[idx]).astype(np.int64)
        pieces.append((idx, day))
    idx = np.concatenate([p[0] for p in pieces])
    day = np.concatenate([p[1] for p in pieces])
    order = np.lexsort((day, idx))
    idx, day = idx[order], day[order]
    types = release_types()
    share = np.array([params["types"][t]["share"] for t in types])
    kind = rng.choice(len(types), size=len(idx), p=share / share.sum())
    max_nights = np.array([params["types"][t]["max_nights"] for t in types])[kind]
    nights = (rng.random(len(idx)) * (max_nights + 1)).astype(np.int64)
    back = day + nights
    failed = rng.random(len(idx)) < params["failure_share"]
    keep = back <= last[idx]  # a licence that would run past release (or the coverage) is not granted
    return Releases(jr[idx][keep], day[keep], back[keep], kind[keep], failed[keep])
