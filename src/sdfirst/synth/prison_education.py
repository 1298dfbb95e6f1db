"""Learning in prison, as CURIOUS records it: an induction with initial assessments in English and maths, then courses.

CURIOUS (the Prison Education Framework's database, from April 2019) makes a learner profile at the education
induction, so a prisoner who is never inducted has none. Here each sentenced custodial journey held inside the window
gets a profile with a probability; the profile lasts until the first release (or the end of the window). Its
assessments follow the person's ability, the same ability that drives their school attainment when they were in the
NPD, so that a pupil who left school behind in English tends to be assessed at Entry Level in prison. Courses start
while the person is held, in Ofqual's sector subject areas; a course cut short by release is recorded as such.
Parameters: `prison_education` in justice.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.education import logistic, schooling, weighted_choice

STREAM = "prison-education"


@dataclass(frozen=True)
class PrisonLearning:
    """Learner profiles (one per inducted journey) and their courses, as day numbers.

    `profile_*` arrays have one entry per profile; `course_*` arrays one per course, `course_profile` indexing the
    profiles. Levels, sectors and outcomes are indices into the lists of justice.yaml's `prison_education`.
    """

    profile_journey: np.ndarray  # index into world.custody.journeys
    profile_person: np.ndarray
    profile_induction: np.ndarray
    profile_leaving: np.ndarray  # the first release, or NEVER while still held at the window's end
    english_level: np.ndarray
    maths_level: np.ndarray
    course_profile: np.ndarray
    course_start: np.ndarray
    course_planned_end: np.ndarray
    course_end: np.ndarray  # NEVER while continuing at the window's end
    course_sector: np.ndarray
    course_level: np.ndarray
    course_outcome: np.ndarray  # index into the outcomes' keys: achieved, not_achieved, released, continuing


def params() -> dict:
    return load_yaml("justice.yaml")["prison_education"]


def ability(world, person: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each person's ability: the school simulation's for pupils in the NPD's scope, else drawn from latent risk."""
    drawn = -params()["ability_risk_slope"] * world.people.risk[person] + rng.standard_normal(len(person))
    pupils = schooling(world)
    if len(pupils.person) == 0:
        return drawn
    at = np.minimum(np.searchsorted(pupils.person, person), len(pupils.person) - 1)  # pupils.person is sorted
    return np.where(pupils.person[at] == person, pupils.ability[at], drawn)


def _levels(rng: np.random.Generator, skill: np.ndarray) -> np.ndarray:
    a = params()["assessment"]
    return np.digitize(skill + a["shift"] + a["noise_sd"] * rng.standard_normal(len(skill)), a["cuts"]).astype(np.int8)


def simulate_prison_learning(world) -> PrisonLearning:
    """The CURIOUS profiles and courses of the chunk's sentenced journeys held inside the window."""
    par = params()
    rng = world.rng(STREAM)
    window = world.coverage(str(par["first_day"]), str(par["last_day"]))  # within the run's years too
    first, last = window.start, window.end
    j = world.custody.journeys
    held_from = np.maximum(j.start, first)
    released = j.first_release
    rows = np.flatnonzero(j.sentenced & (j.start <= last) & ((released == dates.NEVER) | (released > held_from)))
    lo, hi = par["induction_after_days"]
    inducted = rng.random(len(rows)) < par["induction_share"]
    induction = held_from[rows] + rng.integers(lo, hi + 1, len(rows))
    leaving = np.where(released[rows] > last, dates.NEVER, released[rows])
    until = np.where(leaving == dates.NEVER, last, leaving)
    keep = inducted & (induction < until) & (induction <= last)
    rows, induction, leaving, until = rows[keep], induction[keep], leaving[keep], until[keep]
    person = j.person[rows]
    skill = ability(world, person, rng)
    english, maths = _levels(rng, skill), _levels(rng, skill)

    held = (until - induction).astype(np.float64)
    count = rng.poisson(par["courses_per_180_days"] * held / 180.0)
    profile = np.repeat(np.arange(len(rows)), count)
    start = induction[profile] + (rng.random(len(profile)) * held[profile]).astype(np.int64)
    planned = (
        start + 1 + rng.gamma(par["course_days"]["shape"], par["course_days"]["scale"], len(profile)).astype(np.int64)
    )
    order = np.lexsort((start, profile))
    profile, start, planned = profile[order], start[order], planned[order]
    sector = weighted_choice(rng, par["sectors"], len(profile))
    level = weighted_choice(rng, par["course_levels"], len(profile))
    odds = par["achieved"]["intercept"] + par["achieved"]["ability"] * skill[profile]
    won = rng.random(len(profile)) < logistic(odds)
    cut = planned > until[profile]
    by_release = cut & (leaving[profile] != dates.NEVER)
    outcome = np.where(by_release, 2, np.where(cut, 3, np.where(won, 0, 1))).astype(np.int8)
    end = np.where(by_release, leaving[profile], np.where(cut, dates.NEVER, planned))
    return PrisonLearning(
        profile_journey=rows,
        profile_person=person,
        profile_induction=induction.astype(np.int32),
        profile_leaving=leaving.astype(np.int32),
        english_level=english,
        maths_level=maths,
        course_profile=profile,
        course_start=start.astype(np.int32),
        course_planned_end=planned.astype(np.int32),
        course_end=end.astype(np.int32),
        course_sector=sector,
        course_level=level,
        course_outcome=outcome,
    )
