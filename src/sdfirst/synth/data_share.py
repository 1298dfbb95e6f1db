"""How the data owners made the MoJ-DfE share: the police extract and the match of PNC ids to pupils.

The police side of the share is the cautions and convictions of the shared offending process (`world.offending`)
for people in the share's scope (the children of `sdfirst.synth.education`), each under the youth-justice
category of its day (reprimands and final warnings, then youth cautions). MoJ and DfE matched each PNC person to
a pupil before release: pupils of state schools are matched, less some failures and a few wrong pupils. Both
steps' parameters are in `synthetic/education.yaml` (`police`, `matching`); `tables/moj_dfe.py` maps the results
to columns, gives each PNC person the id the match works on, and writes the matched pupil on each police record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.education import Schooling
from sdfirst.synth.world import World

DATASET = "moj_dfe"


@dataclass(frozen=True)
class PoliceRecords:
    """The share's police records: one row per caution or conviction, in the offending process's order."""

    rows: np.ndarray  # index into world.offending
    person: np.ndarray  # chunk-local person
    date: np.ndarray  # int32 day of the offence
    outcome_date: np.ndarray  # int32 day of the caution or conviction
    age: np.ndarray  # age in whole years at the offence
    cautioned: np.ndarray  # bool: a caution (else a conviction)
    category: np.ndarray  # int64 index into categories
    categories: tuple[str, ...]  # the share's labels of its disposal categories (`police.disposal_categories`)


@dataclass(frozen=True)
class PupilMatch:
    """The owners' match: one row per matched PNC person, with the pupil it was matched to (not always theirs)."""

    pnc_key: np.ndarray  # uint64 PNC person key
    pupil: np.ndarray  # index into the Schooling's children
    person: np.ndarray  # the PNC person's true person


def extract_police_records(world: World, s: Schooling) -> PoliceRecords:
    """Cautions and convictions of people in scope, within the share's years, with their category."""
    pol = load_yaml("education.yaml")["police"]
    off = world.offending
    in_scope = np.zeros(len(world.people), dtype=bool)
    in_scope[s.person] = True
    win = world.coverage(str(pol["first_day"]), str(pol["last_day"]))
    dob = world.people.dob[off.person]
    age = dates.age_on(dob, off.date)
    dealt = off.recordable & (off.cautioned | off.convicted)
    rows = np.flatnonzero(
        dealt
        & in_scope[off.person]
        & (age >= pol["min_age"])
        & win.contains(off.outcome_date)
        & (off.date >= win.start)
        & (off.date <= off.outcome_date)
    )
    person, outcome = off.person[rows], off.outcome_date[rows]
    cautioned = off.cautioned[rows]
    youth = age[rows] < pol["adult_age"]
    # reprimand for a youth's first caution, final warning after, until youth cautions came in
    first_caution = np.ones(len(rows), dtype=bool)
    if len(rows):
        c_rows = np.flatnonzero(cautioned)
        prev_same = np.r_[False, person[c_rows][1:] == person[c_rows][:-1]]
        first_caution[c_rows] = ~prev_same
    old_regime = outcome < dates.day(str(pol["youth_caution_from"]))
    code = {name: i for i, name in enumerate(pol["disposal_categories"])}
    category = np.where(
        ~cautioned,
        code["conviction"],
        np.where(
            ~youth,
            code["caution"],
            np.where(
                old_regime, np.where(first_caution, code["reprimand"], code["final_warning"]), code["youth_caution"]
            ),
        ),
    )
    return PoliceRecords(
        rows=rows,
        person=person,
        date=off.date[rows],
        outcome_date=outcome,
        age=age[rows],
        cautioned=cautioned,
        category=category,
        categories=tuple(pol["disposal_categories"].values()),
    )


def match_pupils(world: World, s: Schooling, keys: np.ndarray, person: np.ndarray) -> PupilMatch:
    """The data owners' match of PNC ids (`keys`, with each row's true `person`) to pupils: state-school pupils,
    less failures, a few matched to a wrong pupil of a nearby birth cohort."""
    par = load_yaml("education.yaml")["matching"]
    rng = world.rng(f"{DATASET}:matching")
    ids, first = np.unique(keys, return_index=True)
    who = person[first]
    child = np.searchsorted(s.person, who)
    in_npd = s.state_school[child]
    matched = in_npd & (rng.random(len(ids)) >= par["failure"])
    wrong = matched & (rng.random(len(ids)) < par["false_match"])
    # a wrong match goes to another state-school pupil of a nearby birth cohort
    pupils = np.flatnonzero(s.state_school)
    pupils = pupils[np.argsort(s.cohort[pupils], kind="stable")]
    target = child.copy()
    if len(pupils):
        near = np.searchsorted(s.cohort[pupils], s.cohort[child[wrong]])
        k = par["false_match_neighbours"]
        pick = np.clip(near + rng.integers(-k, k, wrong.sum()), 0, len(pupils) - 1)
        target[wrong] = pupils[pick]
    rows = np.flatnonzero(matched)
    return PupilMatch(pnc_key=ids[rows], pupil=target[rows], person=who[rows])
