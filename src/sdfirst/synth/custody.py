"""Custody: remand, sentence and recall spells, merged into custodial journeys as p-NOMIS records them.

A journey is a run of connected time in prison: a remand that turns into a sentence, and a recall while on
licence, stay in one journey; a person released and later sent back on a new case starts another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.courts import NONE
from sdfirst.synth.offending import offence_table


@dataclass
class Journeys:
    person: np.ndarray
    start: np.ndarray  # first reception
    end: np.ndarray  # final release (NEVER while still in custody)
    first_release: np.ndarray
    remand_start: np.ndarray  # journey began on remand
    sentenced: np.ndarray
    recalls: np.ndarray
    sentence_days: np.ndarray  # longest sentence in the journey
    code: np.ndarray  # most serious offence of the journey
    days_in_custody: np.ndarray

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class Custody:
    journeys: Journeys
    case_release: np.ndarray  # per case: first release from a custodial sentence (NEVER if none)
    case_licence_end: np.ndarray  # per case: end of licence supervision
    case_recalls: np.ndarray  # per case: recalls during licence


def _spells(world, rng):
    """One spell per case with any time in custody: [start, end], with release and recall details."""
    params = load_yaml("justice.yaml")["custody"]
    c = world.courts.cases
    custody = c.disposal == code_list("disposals")["immediate_custody"]
    remand = c.remanded
    case_end = np.where(c.crown_type >= 0, c.crown_result_date, c.mags_result_date)
    remand_days = np.where(remand, np.maximum(case_end - c.first_hearing, 0), 0)
    release = c.sentence_date + np.maximum(1, np.round(c.custody_days * params["release_fraction"]) - remand_days)
    release = np.where(custody, release, dates.NEVER).astype(np.int32)
    licence_end = np.maximum(c.sentence_date + c.custody_days, release + params["licence_min_days"])
    licence_end = np.where(custody, licence_end, dates.NEVER).astype(np.int32)
    p_recall = 1 / (1 + np.exp(-(params["recall_intercept"] + params["recall_risk"] * world.people.risk[c.person])))
    recalled = custody & (rng.random(len(c)) < p_recall)
    recall_day = release + (rng.random(len(c)) * (licence_end - release)).astype(np.int64)
    fixed = rng.random(len(c)) < params["fixed_term_share"]
    back_out = np.where(fixed, recall_day + params["fixed_term_recall_days"], licence_end)
    final = np.where(recalled, back_out, release)
    start = np.where(remand, c.first_hearing, c.sentence_date)
    end = np.where(custody, final, np.where(remand, case_end, dates.NEVER))
    has = custody | remand
    return has, start.astype(np.int32), end.astype(np.int32), release, licence_end, recalled.astype(np.int64)


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
    rng = world.rng("custody")
    c = world.courts.cases
    has, start, end, release, licence_end, recalled = _spells(world, rng)
    idx = np.flatnonzero(has)
    journey = _merge(c.person[idx], start[idx], end[idx])
    n = int(journey.max()) + 1 if len(idx) else 0
    j_start = np.full(n, dates.NEVER, dtype=np.int64)
    np.minimum.at(j_start, journey, start[idx])
    j_end = np.zeros(n, dtype=np.int64)
    np.maximum.at(j_end, journey, end[idx])
    j_release = np.full(n, dates.NEVER, dtype=np.int64)
    np.minimum.at(j_release, journey, np.minimum(release[idx], end[idx]))
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


__all__ = ["NONE", "Custody", "Journeys", "simulate_custody"]
