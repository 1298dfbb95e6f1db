"""Incidents in custody (Safety in Custody): self-harm, assaults and deaths during each journey's days inside.

Each kind of incident is a Poisson process over a journey's days in custody at a rate per prisoner-year by sex
(justice.yaml `safety_in_custody`), on a day drawn evenly over the days inside. It is drawn from the time inside's
stream (see :mod:`sdfirst.synth.custody`), after the assessments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdfirst.specs import load_yaml
from sdfirst.synth import dates


@dataclass(frozen=True)
class Incidents:
    """One row per incident, in the order drawn (by kind, then journey)."""

    journey: np.ndarray  # index into the journeys simulated (TimeInside.journeys)
    day: np.ndarray  # int32
    kind: np.ndarray  # index into incident_kinds()


def incident_kinds() -> list[str]:
    """The kinds of incident, in the order of justice.yaml `safety_in_custody.rates`."""
    return list(load_yaml("justice.yaml")["safety_in_custody"]["rates"])


def simulate_incidents(world, rng: np.random.Generator, rows: np.ndarray) -> Incidents:
    """Incidents during the journeys `rows` (indices into the custodial journeys)."""
    rates = load_yaml("justice.yaml")["safety_in_custody"]["rates"]
    j = world.custody.journeys
    male = world.people.male[j.person[rows]]
    years = j.days_in_custody[rows] / dates.YEAR
    parts = []
    for k, rate in enumerate(rates.values()):
        lam = np.where(male, rate["men"], rate["women"]) * years
        n = rng.poisson(lam)
        jr = np.repeat(np.arange(len(rows)), n)
        day = j.start[rows][jr] + (rng.random(len(jr)) * j.days_in_custody[rows][jr]).astype(np.int64)
        parts.append((jr, day, np.full(len(jr), k, dtype=np.int64)))
    return Incidents(
        journey=np.concatenate([p[0] for p in parts]),
        day=np.concatenate([p[1] for p in parts]).astype(np.int32),
        kind=np.concatenate([p[2] for p in parts]),
    )
