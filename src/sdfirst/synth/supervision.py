"""Probation supervision: community and suspended sentence orders with their requirements, licences after
custody, pre-sentence reports, and breaches that bring people back to the magistrates' court.

An order ends early on a further offence (the person's next offence before its natural end) or on a breach
(logistic in latent risk); a share of breaches return to the magistrates' court as breach cases and are
resentenced. Every rate is in justice.yaml (`supervision`); the requirements and their shares are the code list
`requirements`, and why an event or requirement ended the code list `termination_reasons`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdfirst.exceptions import DataFirstError
from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.courts import CROWN
from sdfirst.synth.offending import offence_table
from sdfirst.synth.requirements import requirement_codes, requirement_matrix

ORDER, LICENCE, REPORT = 0, 1, 2  # the kinds of event this process makes


@dataclass(frozen=True)
class Events:
    """nDelius events: one per order, licence or pre-sentence report."""

    person: np.ndarray
    case: np.ndarray
    kind: np.ndarray  # ORDER, LICENCE, REPORT
    disposal: np.ndarray  # index into the code list disposals (-1 for reports)
    referral: np.ndarray
    termination: np.ndarray
    reason: np.ndarray  # index into the code list termination_reasons
    recalls: np.ndarray
    length_days: np.ndarray

    def __len__(self) -> int:
        return len(self.person)


@dataclass(frozen=True)
class Requirements:
    event: np.ndarray  # index into Events
    kind: np.ndarray  # index into requirement codes
    start: np.ndarray
    end: np.ndarray
    reason: np.ndarray  # index into the code list termination_reasons
    length: np.ndarray


@dataclass(frozen=True)
class BreachCases:
    person: np.ndarray
    hearing: np.ndarray
    code: np.ndarray
    disposal: np.ndarray
    custody_days: np.ndarray
    key: np.ndarray  # unique within the chunk


@dataclass(frozen=True)
class Supervision:
    events: Events
    requirements: Requirements
    breach_cases: BreachCases


def _next_offence_after(world, person: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The first offence date of each person strictly after a day (NEVER if none)."""
    off = world.courts.offences
    key_off = off.person.astype(np.int64) * 2**32 + off.date
    order = np.argsort(key_off, kind="stable")
    key_off = key_off[order]
    pos = np.searchsorted(key_off, person.astype(np.int64) * 2**32 + start, side="right")
    ok = pos < len(key_off)
    nxt = np.full(len(person), dates.NEVER, dtype=np.int64)
    found = key_off[np.minimum(pos, len(key_off) - 1)]
    same = ok & (found // 2**32 == person)
    nxt[same] = found[same] % 2**32
    return nxt


def _events(world, rng) -> Events:
    s = load_yaml("justice.yaml")["supervision"]
    c = world.courts.cases
    cust = world.custody
    adult = ~c.youth
    disposals = code_list("disposals")
    orders = adult & np.isin(c.disposal, disposals.indices("community_order", "suspended_sentence"))
    licences = adult & (c.disposal == disposals["immediate_custody"])
    reports = adult & (c.sentence_court == CROWN) & (rng.random(len(c)) < s["presentence_report"])
    o, li, r = np.flatnonzero(orders), np.flatnonzero(licences), np.flatnonzero(reports)
    case = np.concatenate([o, li, r])
    kind = np.concatenate([np.full(len(o), ORDER), np.full(len(li), LICENCE), np.full(len(r), REPORT)])
    referral = np.concatenate(
        [c.sentence_date[o], c.sentence_date[li], c.sentence_date[r] - s["presentence_report_days"]]
    ).astype(np.int64)
    natural_end = np.concatenate(
        [c.sentence_date[o] + c.custody_days[o], cust.case_licence_end[li], c.sentence_date[r]]
    ).astype(np.int64)
    person = c.person[case]
    # orders end early on a further offence or a breach
    nxt = _next_offence_after(world, person, referral)
    further = (kind == ORDER) & (nxt < natural_end)
    p_breach = 1 / (1 + np.exp(-(s["breach_intercept"] + s["breach_risk"] * world.people.risk[person])))
    breach = (kind == ORDER) & ~further & (rng.random(len(case)) < p_breach)
    breach_day = referral + (rng.random(len(case)) * (natural_end - referral)).astype(np.int64)
    termination = np.select([further, breach], [nxt, breach_day], natural_end)
    why = code_list("termination_reasons")
    reason = np.select(
        [further, breach, kind == ORDER], [why["further_offence"], why["breach"], why["completed"]], why["expired"]
    )
    return Events(
        person=person,
        case=case,
        kind=kind,
        disposal=np.where(kind == REPORT, -1, c.disposal[case]).astype(np.int8),
        referral=referral.astype(np.int32),
        termination=termination.astype(np.int32),
        reason=reason,
        recalls=np.where(kind == LICENCE, cust.case_recalls[case], 0),
        length_days=c.custody_days[case].astype(np.int64),
    )


def requirement_days(kind: np.ndarray, length: np.ndarray) -> np.ndarray:
    """How long each requirement takes to work through at justice.yaml `supervision.requirement_pace` (days per
    unit of its length: hours of unpaid work, RAR days, programme sessions; a month is a twelfth of a year)."""
    s = load_yaml("justice.yaml")["supervision"]
    units = np.array([s["requirement_lengths"][k][0] for k in requirement_codes()])[kind]
    pace = s["requirement_pace"]
    unknown = sorted(set(units) - set(pace))
    if unknown:
        raise DataFirstError(f"justice.yaml: supervision.requirement_pace has no pace for the unit {unknown[0]}")
    days_per_unit = np.array([pace[u] for u in units], dtype=float)
    return np.ceil(length * days_per_unit).astype(np.int64)


def _requirements(rng, world, ev: Events) -> Requirements:
    """The requirements of each order (decided with the sentence: :mod:`sdfirst.synth.requirements`), each running
    from its start for as long as its length takes (:func:`requirement_days`), unless the order ends first."""
    s = load_yaml("justice.yaml")["supervision"]
    lengths = s["requirement_lengths"]
    why = code_list("termination_reasons")
    codes = requirement_codes()
    orders = np.flatnonzero(ev.kind == ORDER)
    courts = world.courts
    has = requirement_matrix(world, courts.cases, courts.potential_cases)[ev.case[orders]]
    row, kind = np.nonzero(has)
    event = orders[row]
    lo = np.array([lengths[k][1] for k in codes])[kind]
    hi = np.array([lengths[k][2] for k in codes])[kind]
    length = rng.integers(lo, hi + 1)
    start = ev.referral[event] + rng.integers(0, s["requirement_start_days"] + 1, len(event))
    order_end = ev.termination[event].astype(np.int64)
    start = np.minimum(start, order_end)
    worked_through = start + requirement_days(kind, length)
    end = np.maximum(np.minimum(worked_through, order_end), start)
    ended_early = np.isin(ev.reason[event], why.indices("breach", "further_offence")) & (worked_through > order_end)
    completes = np.isin(np.array(codes)[kind], s["completed_requirements"])
    reason = np.where(ended_early, ev.reason[event], np.where(completes, why["completed"], why["expired"]))
    return Requirements(
        event=event,
        kind=kind,
        start=start.astype(np.int32),
        end=end.astype(np.int32),
        reason=reason,
        length=length.astype(np.int64),
    )


def _breach_cases(rng, world, ev: Events) -> BreachCases:
    s = load_yaml("justice.yaml")["supervision"]
    rows = np.flatnonzero(
        (ev.reason == code_list("termination_reasons")["breach"]) & (rng.random(len(ev)) < s["breach_court_share"])
    )
    n = len(rows)
    custody = rng.random(n) < s["breach_resentence_custody"]
    disposals = code_list("disposals")
    disposal = np.where(custody, disposals["immediate_custody"], disposals["fine"]).astype(np.int8)
    lo, hi = s["breach_custody_days"]
    return BreachCases(
        person=ev.person[rows],
        hearing=(ev.termination[rows] + s["breach_hearing_delay_days"]).astype(np.int32),
        code=np.full(n, offence_table().index(s["breach_offence"]), dtype=np.int64),
        disposal=disposal,
        custody_days=np.where(custody, rng.integers(lo, hi + 1, n), 0).astype(np.int64),
        key=rows.astype(np.int64),
    )


def simulate_supervision(world) -> Supervision:
    rng = world.rng("supervision")
    ev = _events(world, rng)
    return Supervision(ev, _requirements(rng, world, ev), _breach_cases(rng, world, ev))
