"""Custody: remand, sentence and recall spells merged into custodial journeys as p-NOMIS records them, and the
time inside those journeys: where each is held, its prison numbers, its OASys assessments and its incidents.

A journey is a run of connected time in prison: a remand that turns into a sentence, and a recall while on
licence, stay in one journey; a person released and later sent back on a new case starts another.

The time inside is simulated for the journeys the prison data cover (those that start inside the prison dataset's
coverage), up to the end of that coverage, from one stream in one order: where each is held, whether it gets a new
prison number, the OASys assessments (here), then the incidents (:mod:`sdfirst.synth.incidents`). Releases on
temporary licence (:mod:`sdfirst.synth.temporary_release`) have a stream of their own. Every rate is in
justice.yaml (`custody`, `oasys`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.courts import NONE
from sdfirst.synth.incidents import Incidents, simulate_incidents
from sdfirst.synth.offending import offence_table

PRISON = "prison"  # the dataset whose coverage bounds the time inside
#: the stream of the time inside (its name is older than this module: keeping it keeps the data as they were)
TIME_INSIDE_STREAM = "prison-tables"


@dataclass(frozen=True)
class Journeys:
    person: np.ndarray
    start: np.ndarray  # first reception
    end: np.ndarray  # final release (NEVER while still in custody)
    first_release: np.ndarray
    first_recall: np.ndarray  # first return to custody on recall (NEVER if none)
    remand_start: np.ndarray  # journey began on remand
    sentenced: np.ndarray
    recalls: np.ndarray
    sentence_days: np.ndarray  # longest sentence in the journey
    code: np.ndarray  # most serious offence of the journey
    days_in_custody: np.ndarray

    def __len__(self) -> int:
        return len(self.person)


@dataclass(frozen=True)
class Custody:
    journeys: Journeys
    case_release: np.ndarray  # per case: first release from a custodial sentence (NEVER if none)
    case_licence_end: np.ndarray  # per case: end of licence supervision
    case_recalls: np.ndarray  # per case: recalls during licence


@dataclass(frozen=True)
class Spells:
    """Each case's time in custody (row for row with the cases), as day numbers.

    A case with any (``has``) is held from ``start``; it is out on ``release`` (NEVER if it never is, as on a
    remand that ends with the case) and held again from ``recall`` (NEVER if not recalled) until ``end``.
    Held means [start, min(end, release)) and [recall, end): out on the day of release.
    """

    has: np.ndarray
    start: np.ndarray
    end: np.ndarray
    release: np.ndarray
    licence_end: np.ndarray
    recalled: np.ndarray  # int64 0 or 1
    recall: np.ndarray

    def held(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The intervals held, as (case, from, to): one or two per case with any custody, half-open."""
        rows = np.flatnonzero(self.has)
        out = np.minimum(self.end[rows], self.release[rows])
        back = rows[self.recalled[rows] > 0]
        case = np.concatenate([rows, back])
        start = np.concatenate([self.start[rows], self.recall[back]]).astype(np.int64)
        stop = np.concatenate([out, self.end[back]]).astype(np.int64)
        return case, start, stop


def case_spells(world, cases, potential: int) -> Spells:
    """The custody of each case: remand, sentence and recall. The draws are made for every case the courts heard
    before :mod:`sdfirst.synth.incapacitation` set aside those that never happened (`potential`, indexed by
    ``cases.row``), so that a case's custody does not depend on which others there are."""
    params = load_yaml("justice.yaml")["custody"]
    c = cases
    u_recall, u_day, u_fixed = world.rng("custody").random((3, potential))[:, c.row]
    custody = c.disposal == code_list("disposals")["immediate_custody"]
    remand = c.remanded
    case_end = np.where(c.crown_type >= 0, c.crown_result_date, c.mags_result_date)
    remand_days = np.where(remand, np.maximum(case_end - c.first_hearing, 0), 0)
    release = c.sentence_date + np.maximum(1, np.round(c.custody_days * params["release_fraction"]) - remand_days)
    release = np.where(custody, release, dates.NEVER).astype(np.int32)
    licence_end = np.maximum(c.sentence_date + c.custody_days, release + params["licence_min_days"])
    licence_end = np.where(custody, licence_end, dates.NEVER).astype(np.int32)
    p_recall = 1 / (1 + np.exp(-(params["recall_intercept"] + params["recall_risk"] * world.people.risk[c.person])))
    recalled = custody & (u_recall < p_recall)
    recall_day = release + (u_day * (licence_end - release)).astype(np.int64)
    fixed = u_fixed < params["fixed_term_share"]
    back_out = np.where(fixed, recall_day + params["fixed_term_recall_days"], licence_end)
    final = np.where(recalled, back_out, release)
    start = np.where(remand, c.first_hearing, c.sentence_date)
    end = np.where(custody, final, np.where(remand, case_end, dates.NEVER))
    return Spells(
        has=custody | remand,
        start=start.astype(np.int32),
        end=end.astype(np.int32),
        release=release,
        licence_end=licence_end,
        recalled=recalled.astype(np.int64),
        recall=np.where(recalled, recall_day, dates.NEVER).astype(np.int32),
    )


def _merge(person, start, end):
    """Journey number of each spell: spells of one person that overlap or touch belong together."""
    order = np.lexsort((start, person))
    p, s, e = person[order], start[order], end[order].astype(np.int64)
    new_person = np.r_[True, p[1:] != p[:-1]]
    # running maximum of end within each person
    offset = np.cumsum(new_person) * (2**40)
    running = np.maximum.accumulate(e + offset) - offset
    prev_end = np.r_[-(2**40), running[:-1]]
    new_journey = new_person | (s > prev_end + 1)
    journey = np.empty(len(p), dtype=np.int64)
    journey[order] = np.cumsum(new_journey) - 1
    return journey


def simulate_custody(world) -> Custody:
    courts = world.courts
    c = courts.cases
    spells = case_spells(world, c, courts.potential_cases)
    has, start, end, release = spells.has, spells.start, spells.end, spells.release
    licence_end, recalled = spells.licence_end, spells.recalled
    idx = np.flatnonzero(has)
    journey = _merge(c.person[idx], start[idx], end[idx])
    n = int(journey.max()) + 1 if len(idx) else 0
    j_start = np.full(n, dates.NEVER, dtype=np.int64)
    np.minimum.at(j_start, journey, start[idx])
    j_end = np.zeros(n, dtype=np.int64)
    np.maximum.at(j_end, journey, end[idx])
    j_release = np.full(n, dates.NEVER, dtype=np.int64)
    np.minimum.at(j_release, journey, np.minimum(release[idx], end[idx]))
    j_recall = np.full(n, dates.NEVER, dtype=np.int64)
    np.minimum.at(j_recall, journey, spells.recall[idx])
    person = np.zeros(n, dtype=np.int64)
    person[journey] = c.person[idx]
    first_spell = np.full(n, len(idx), dtype=np.int64)
    order = np.lexsort((start[idx], journey))
    first_spell[journey[order][::-1]] = order[::-1]
    remand_start = c.remanded[idx][first_spell]
    sentenced = np.zeros(n, dtype=bool)
    sentence = c.disposal[idx] == code_list("disposals")["immediate_custody"]
    np.logical_or.at(sentenced, journey, sentence)
    recalls = np.bincount(journey, weights=recalled[idx], minlength=n).astype(np.int64)
    length = np.zeros(n, dtype=np.int64)
    np.maximum.at(length, journey, np.where(sentence, c.custody_days[idx], 0))
    severity = offence_table().severity[c.code[idx]].astype(np.int64)
    best = np.lexsort((-severity, journey))
    code = np.zeros(n, dtype=np.int64)
    code[journey[best][::-1]] = c.code[idx][best][::-1]
    days = np.bincount(journey, weights=(np.minimum(end[idx], release[idx]) - start[idx]).clip(0), minlength=n)
    journeys = Journeys(
        person=person,
        start=j_start.astype(np.int32),
        end=j_end.astype(np.int32),
        first_release=j_release.astype(np.int32),
        first_recall=j_recall.astype(np.int32),
        remand_start=remand_start,
        sentenced=sentenced,
        recalls=recalls,
        sentence_days=length,
        code=code,
        days_in_custody=days.astype(np.int64),
    )
    return Custody(
        journeys,
        np.where(has, release, dates.NEVER),
        np.where(has, licence_end, dates.NEVER),
        np.where(has, recalled, 0),
    )


@dataclass(frozen=True)
class Assessments:
    """OASys assessments: an initial one for most sentenced journeys, then a review every interval while inside."""

    journey: np.ndarray  # index into TimeInside.journeys
    person: np.ndarray
    date: np.ndarray
    initial: np.ndarray  # the first assessment of its journey (the rest are reviews)
    needs: dict[str, np.ndarray]  # per criminogenic need (oasys.topics): 0 no problem, 1 some, 2 significant
    ogrs3: np.ndarray  # two-year probability of proven reoffending
    rosh: np.ndarray  # risk of serious harm: index into oasys.rosh.levels


@dataclass(frozen=True)
class TimeInside:
    """The time inside the custodial journeys the prison data cover."""

    journeys: np.ndarray  # indices into Journeys: those starting inside the prison data's coverage
    establishment: np.ndarray  # the prison each journey is held in (names, object array)
    renumbered: np.ndarray  # int64: 0 keeps the person's prison number; k > 0 is the k-th other number
    assessments: Assessments
    incidents: Incidents


def covered_journeys(world) -> np.ndarray:
    """The journeys that start inside the prison data's coverage: the journeys the time inside is simulated for."""
    return world.memo(
        "covered-journeys", lambda: np.flatnonzero(world.dataset_window(PRISON).contains(world.custody.journeys.start))
    )


def establishments(world, rng, person: np.ndarray, when: np.ndarray) -> np.ndarray:
    """The prison each journey is held in: a young offender institution under an age, else a men's or women's
    prison, drawn evenly from the lists in justice.yaml."""
    params = load_yaml("justice.yaml")["custody"]
    prisons = params["prisons"]
    male = world.people.male[person]
    youth = dates.age_on(world.people.dob[person], when) < params["young_offender_under_age"]
    choice = np.where(youth & male, 2, np.where(male, 0, 1))
    out = np.empty(len(person), dtype=object)
    for i, key in enumerate(("men", "women", "youth")):
        rows = np.flatnonzero(choice == i)
        out[rows] = np.array(prisons[key], dtype=object)[rng.integers(0, len(prisons[key]), len(rows))]
    return out


def _renumbered(rng, n: int) -> np.ndarray:
    """Which journeys get a prison number other than the person's usual one, and which of the others."""
    numbers = load_yaml("justice.yaml")["custody"]["prison_numbers"]
    new = (rng.random(n) < numbers["new_number_share"]).astype(np.int64)
    return new * (1 + np.arange(n) % numbers["other_numbers"])


def _assess(world, rng, rows: np.ndarray, until: int) -> Assessments:
    """Initial assessments for most sentenced journeys, then reviews while in custody, up to `until`."""
    params = load_yaml("justice.yaml")["oasys"]
    j = world.custody.journeys
    assessed = j.sentenced[rows] & (rng.random(len(rows)) < params["assessment_share"])
    span_end = np.minimum(np.where(j.end[rows] == dates.NEVER, until, j.end[rows]), until)
    lo, hi = params["first_after_days"]
    first = j.start[rows] + rng.integers(lo, hi + 1, len(rows))
    interval = params["review_interval_days"]
    reviews = np.where(assessed, np.maximum(span_end - first, 0) // interval, 0)
    count = np.where(assessed & (first <= span_end), 1 + reviews, 0)
    jr = np.repeat(np.arange(len(rows)), count)
    seq = np.arange(len(jr)) - np.repeat(np.cumsum(count) - count, count)
    when = (first[jr] + seq * interval).astype(np.int32)
    person = j.person[rows][jr]
    risk = world.people.risk[person]
    need = params["need_score"]
    needs = {}
    for topic in params["topics"]:
        score = need["risk"] * risk + rng.standard_normal(len(jr)) + need["shift"]
        needs[topic] = np.digitize(score, need["cuts"]).astype(np.int64)
    g = params["ogrs3"]
    ogrs3 = 1 / (1 + np.exp(-(g["intercept"] + g["risk"] * risk + g["noise_sd"] * rng.standard_normal(len(jr)))))
    rosh = np.digitize(risk + params["rosh"]["noise_sd"] * rng.standard_normal(len(jr)), params["rosh"]["cuts"])
    return Assessments(jr, person, when, seq == 0, needs, ogrs3, rosh)


def simulate_time_inside(world) -> TimeInside:
    """Where each covered journey is held, its prison number, its assessments and its incidents, in that order."""
    rng = world.rng(TIME_INSIDE_STREAM)
    j = world.custody.journeys
    rows = covered_journeys(world)
    establishment = establishments(world, rng, j.person[rows], j.start[rows])
    renumbered = _renumbered(rng, len(rows))
    assessments = _assess(world, rng, rows, world.dataset_window(PRISON).end)
    incidents = simulate_incidents(world, rng, rows)
    return TimeInside(rows, establishment, renumbered, assessments, incidents)


__all__ = [
    "NONE",
    "Custody",
    "Journeys",
    "Spells",
    "TimeInside",
    "case_spells",
    "simulate_custody",
    "simulate_time_inside",
]
