"""Cafcass: the Children and Family Court Advisory and Support Service's records of the family court's children's cases.

Cafcass works on the public law (care) and private law (child arrangements) applications made in England; each of
its cases is the Cafcass record of one FamilyMan case, so it is drawn from the family courts process
(`sdfirst.synth.family_courts`), not simulated anew: the same children and parents, the same issue and disposal.
Cafcass adds what it records itself: when it received and allocated the case, its work type, when it closed it,
and each person's role and relationship to the children. Every rate and label is in the `cafcass` section of
`synthetic/family_civil.yaml`; `tables/cafcass.py` maps `CafcassCases` to columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sdfirst.synth import dates
from sdfirst.synth.family_courts import FamilyCourts, family_courts
from sdfirst.synth.parties import params
from sdfirst.synth.world import Window, World

DATASET = "cafcass"


@dataclass(frozen=True)
class CafcassCases:
    """Cafcass's cases (each a FamilyMan case) and the people on them, as parallel arrays."""

    family_case: np.ndarray  # index of the FamilyMan case in FamilyCourts.cases
    law_type: np.ndarray  # index into `law_types`
    received: np.ndarray  # int32 day Cafcass received the application
    allocated: np.ndarray  # int32 day it was allocated to a practitioner
    closed: np.ndarray  # int32 day Cafcass closed its case (NEVER while open at the end of its coverage)
    work_type: np.ndarray  # index into `work_types`
    law_types: tuple[str, ...]
    work_types: tuple[str, ...]
    p_case: np.ndarray  # people rows: index of the Cafcass case
    p_person: np.ndarray  # the true person
    p_role: np.ndarray  # object: the FamilyMan role (applicant, respondent, child)
    window: Window  # Cafcass's coverage within the run's years


def cfg() -> dict[str, Any]:
    """The Cafcass parameters (read at use time, so that overrides reach them)."""
    return params()[DATASET]


def _uniform_days(rng: np.random.Generator, bounds: dict[str, list[int]], law: list[str], idx: np.ndarray):
    """Days drawn uniformly (inclusive) from each row's law type's bounds."""
    lo = np.array([bounds[name][0] for name in law])[idx]
    hi = np.array([bounds[name][1] for name in law])[idx]
    return rng.integers(lo, hi + 1)


def _work_types(rng: np.random.Generator, c: dict[str, Any], law: list[str], idx: np.ndarray):
    """Each case's work type, drawn from its law type's weights; returns (index, all work type names)."""
    names = [w for name in law for w in c["work_types"][name]]
    start = np.cumsum([0] + [len(c["work_types"][name]) for name in law])
    out = np.zeros(len(idx), dtype=np.int64)
    for k, name in enumerate(law):
        rows = np.flatnonzero(idx == k)
        w = np.array(list(c["work_types"][name].values()), dtype=float)
        out[rows] = start[k] + rng.choice(len(w), size=len(rows), p=w / w.sum())
    return out, tuple(names)


def simulate_cafcass(world: World) -> CafcassCases:
    """The Cafcass record of every public and private law case issued in England that Cafcass's coverage holds."""
    c = cfg()
    family: FamilyCourts = family_courts(world)
    cases = family.cases
    law = list(c["law_types"])
    kind = np.full(len(cases.issue), -1, dtype=np.int64)
    for k, name in enumerate(law):
        kind[cases.case_type == name] = k
    english = np.isin(world.hoods.country[family.court_sector], c["countries"])
    window = world.dataset_window(DATASET)
    rng = world.rng("cafcass:cases")
    received = cases.issue.astype(np.int64) + _uniform_days(rng, c["received_days"], law, np.maximum(kind, 0))
    keep = np.flatnonzero((kind >= 0) & english & window.contains(received))
    idx, received = kind[keep], received[keep]
    allocated = received + _uniform_days(rng, c["allocation_days"], law, idx)
    lo, hi = c["closure_days"]
    final = family.events.closed[keep].astype(np.int64)
    closing = np.maximum(final + rng.integers(lo, hi + 1, len(keep)), allocated)
    closed = np.where(final == dates.NEVER, dates.NEVER, closing)
    closed = np.where(closed > window.end, dates.NEVER, closed)
    work, work_names = _work_types(rng, c, law, idx)
    new_index = np.full(len(cases.issue), -1, dtype=np.int64)
    new_index[keep] = np.arange(len(keep))
    rows = np.flatnonzero((new_index[cases.p_case] >= 0) & (cases.p_person >= 0))
    return CafcassCases(
        family_case=keep,
        law_type=idx,
        received=received.astype(np.int32),
        allocated=allocated.astype(np.int32),
        closed=closed.astype(np.int32),
        work_type=work,
        law_types=tuple(c["law_types"][name] for name in law),
        work_types=work_names,
        p_case=new_index[cases.p_case[rows]],
        p_person=cases.p_person[rows],
        p_role=cases.p_role[rows],
        window=window,
    )


def not_recorded_share(year: np.ndarray) -> np.ndarray:
    """The share of people whose ethnicity Cafcass did not record, by year (linear between the years given)."""
    points = cfg()["ethnicity_not_recorded"]
    years = np.array(sorted(int(y) for y in points), dtype=float)
    shares = np.array([points[y] for y in sorted(points, key=int)], dtype=float)
    return np.interp(year.astype(float), years, shares)
