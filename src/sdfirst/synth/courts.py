"""Criminal courts: first hearings, mode of trial, pleas, verdicts, remand and sentences.

Each prosecuted offence (with any co-defendants) becomes a case at a magistrates' court. Indictable-only and
some either-way cases are sent to the Crown Court for trial; some convicted at the magistrates' court are
committed there for sentence, and a few appeal. Sentences depend on the offence's severity, previous cases,
remand and court, and at the Crown Court on ethnicity through the documented effect in effects.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.offending import DISPOSAL, Offences, offence_table, simulate_offences
from sdfirst.synth.population import ethnicity_table

NONE = -1
# Crown Court case types
TRIAL, SENTENCE, APPEAL = 0, 1, 2
# magistrates' results
CONVICTED, ACQUITTED, WITHDRAWN, SENT_FOR_TRIAL, COMMITTED_FOR_SENTENCE = range(5)
MAGS_RESULTS = [
    "Convicted",
    "Acquitted",
    "Withdrawn or discontinued",
    "Sent for trial",
    "Committed for sentence",
]
PLEAS = ["Guilty", "Not guilty", "No plea"]
GUILTY, NOT_GUILTY, NO_PLEA = range(3)


@dataclass
class Cases:
    """One row per defendant per case: the journey of a principal offence through the courts."""

    person: np.ndarray
    case_group: np.ndarray  # shared by co-defendants
    offence: np.ndarray  # index into Offences (the principal offence)
    code: np.ndarray
    offence_date: np.ndarray
    first_hearing: np.ndarray
    youth: np.ndarray
    remanded: np.ndarray
    mags_plea: np.ndarray
    mags_result: np.ndarray
    mags_result_date: np.ndarray
    crown_type: np.ndarray  # TRIAL, SENTENCE, APPEAL or NONE
    crown_receipt: np.ndarray
    crown_plea: np.ndarray
    crown_convicted: np.ndarray
    crown_result_date: np.ndarray
    convicted: np.ndarray  # finally convicted (after any appeal)
    sentence_court: np.ndarray  # 0 magistrates, 1 Crown, NONE
    sentence_date: np.ndarray
    disposal: np.ndarray  # index into DISPOSAL_KEYS, NONE
    custody_days: np.ndarray  # immediate or suspended custody length; community order length
    fine: np.ndarray
    previous: np.ndarray  # earlier cases of the same person

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class Offending:
    """Every offence with its outcome, as the police (PNC) would hold it: the view shared by other datasets."""

    person: np.ndarray
    date: np.ndarray
    code: np.ndarray
    recordable: np.ndarray
    cautioned: np.ndarray
    outcome_date: np.ndarray
    convicted: np.ndarray
    disposal: np.ndarray
    serious_violence: np.ndarray
    case: np.ndarray  # index into Cases, NONE for cautions


@dataclass
class Courts:
    offences: Offences
    cases: Cases
    secondary_case: np.ndarray  # other offences on a case: the case index
    secondary_code: np.ndarray
    offending: Offending


def _gamma_days(rng, spec: dict, n: int) -> np.ndarray:
    return np.round(rng.gamma(spec["shape"], spec["scale"], n)).astype(np.int32)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _mags(rng, c: dict, severity, youth, n):
    """Plea, result and result date at the magistrates' court for cases that stay there."""
    m = c["magistrates"]
    withdrawn = rng.random(n) < m["withdrawn"]
    guilty = ~withdrawn & (rng.random(n) < m["guilty_plea"])
    convicted_trial = ~withdrawn & ~guilty & (rng.random(n) < m["convicted_at_trial"])
    plea = np.where(withdrawn, NO_PLEA, np.where(guilty, GUILTY, NOT_GUILTY))
    result = np.where(withdrawn, WITHDRAWN, np.where(guilty | convicted_trial, CONVICTED, ACQUITTED))
    delay = np.where(guilty, _gamma_days(rng, m["guilty_plea_delay"], n), _gamma_days(rng, m["trial_delay"], n))
    committed = (result == CONVICTED) & ~youth & (rng.random(n) < np.array(m["committed_for_sentence"])[severity - 1])
    result = np.where(committed, COMMITTED_FOR_SENTENCE, result)
    return plea, result, delay


def _crown(rng, c: dict, n):
    k = c["crown"]
    withdrawn = rng.random(n) < k["withdrawn"]
    guilty = ~withdrawn & (rng.random(n) < k["guilty_plea"])
    convicted = guilty | (~withdrawn & (rng.random(n) < k["convicted_at_trial"]))
    plea = np.where(withdrawn, NO_PLEA, np.where(guilty, GUILTY, NOT_GUILTY))
    delay = np.where(guilty, _gamma_days(rng, k["guilty_plea_delay"], n), _gamma_days(rng, k["trial_delay"], n))
    return plea, convicted, delay


def _sentences(rng, world, person, severity, motoring, youth, crown, remanded, previous):
    """The disposal, custody or order length and fine of each conviction."""
    s = load_yaml("justice.yaml")["sentencing"]
    n = len(person)
    _, _, broad, _ = ethnicity_table()
    effect = load_yaml("effects.yaml")["crown_custody_ethnicity"]["log_odds"]
    eth_effect = np.array([effect[b] for b in broad])[world.people.ethnicity[person]]
    prev = np.minimum(previous, s["custody_previous_cap"])
    logit = (
        s["custody_intercept"]
        + s["custody_severity"] * severity
        + s["custody_previous"] * prev
        + s["custody_crown"] * crown
        + s["custody_remanded"] * remanded
        + crown * eth_effect
        + np.log(np.where(youth, s["youth"]["custody_factor"], 1.0))
    )
    custody = rng.random(n) < _logistic(logit)
    suspended = (
        ~custody
        & ~youth
        & (
            rng.random(n)
            < _logistic(s["suspended_intercept"] + s["suspended_severity"] * severity + s["suspended_crown"] * crown)
        )
    )
    community = (
        ~custody
        & ~suspended
        & (
            rng.random(n)
            < _logistic(s["community_intercept"] + s["community_severity"] * severity + s["community_previous"] * prev)
        )
    )
    rest = ~custody & ~suspended & ~community
    fine_share = np.where(motoring, s["motoring_fine"], s["fine_share_of_rest"])
    fine = rest & (rng.random(n) < fine_share)
    discharge = rest & ~fine
    absolute = discharge & (rng.random(n) < 0.1)
    disposal = np.full(n, DISPOSAL["conditional_discharge"], dtype=np.int8)
    disposal[absolute] = DISPOSAL["absolute_discharge"]
    disposal[fine] = DISPOSAL["fine"]
    disposal[community] = np.where(
        youth[community], DISPOSAL["youth_rehabilitation_order"], DISPOSAL["community_order"]
    )
    first_youth = youth & (previous == 0) & community
    disposal[first_youth & (rng.random(n) < s["youth"]["referral_order_first"])] = DISPOSAL["referral_order"]
    disposal[suspended] = DISPOSAL["suspended_sentence"]
    disposal[custody] = DISPOSAL["immediate_custody"]
    median = np.array(s["custody_median_days"])[severity - 1]
    length = np.round(median * np.exp(s["custody_sigma"] * rng.standard_normal(n))).astype(np.int32)
    length = np.where(
        crown,
        length,
        np.minimum(length, load_yaml("justice.yaml")["courts"]["magistrates"]["max_custody_days"]),
    )
    lo, hi = s["suspended_days"]
    length = np.where(suspended, rng.integers(lo, hi + 1, n), length)
    lo, hi = s["community_days"]
    length = np.where(community, rng.integers(lo, hi + 1, n), length)
    length = np.where(custody | suspended | community, np.maximum(length, 1), 0).astype(np.int32)
    amount = np.where(fine, np.round(s["fine_median"] * np.exp(0.7 * rng.standard_normal(n)), 0), np.nan)
    return disposal, length, amount


def simulate_courts(world) -> Courts:
    """Take every prosecuted offence through the courts."""
    rng = world.rng("courts")
    c = load_yaml("justice.yaml")["courts"]
    table = offence_table()
    off = simulate_offences(world)
    p = world.people
    idx = np.flatnonzero(~off.cautioned)
    n = len(idx)
    person, code, when = off.person[idx], off.code[idx], off.date[idx]
    severity = table.severity[code].astype(np.int64)
    mode = table.mode[code]
    motoring = table.motoring[code]
    # co-defendants share a first hearing: draw per case group, then look up
    groups, inverse = np.unique(off.case_group[idx], return_inverse=True)
    delay = _gamma_days(rng, c["first_hearing_delay"], len(groups))[inverse] + np.where(
        motoring, c["motoring_extra_delay"], 0
    )
    first = (when + 1 + delay).astype(np.int32)
    youth = (first - p.dob[person]) / 365.25 < 18
    to_crown = (mode == "indictable") | (
        (mode == "either_way")
        & (
            rng.random(n)
            < np.array(c["either_way_to_crown"])[severity - 1] * np.where(youth, c["youth_to_crown_factor"], 1)
        )
    )
    remanded = rng.random(n) < np.array(c["remand_in_custody"])[severity - 1]
    previous = _previous(person, first)
    plea, result, mags_delay = _mags(rng, c, severity, youth, n)
    result = np.where(to_crown, SENT_FOR_TRIAL, result)
    plea = np.where(to_crown, NO_PLEA, plea)
    mags_date = np.where(to_crown, first, first + mags_delay).astype(np.int32)
    appeal = (result == CONVICTED) & (rng.random(n) < c["magistrates"]["appeal"])
    crown_type = np.select([to_crown, result == COMMITTED_FOR_SENTENCE, appeal], [TRIAL, SENTENCE, APPEAL], NONE)
    receipt = np.where(
        crown_type == NONE, dates.NEVER, mags_date + 1 + _gamma_days(rng, c["crown"]["sending_delay"], n)
    )
    c_plea, c_convicted, c_delay = _crown(rng, c, n)
    c_plea = np.where(crown_type == TRIAL, c_plea, np.where(crown_type == SENTENCE, GUILTY, NO_PLEA))
    allowed = rng.random(n) < c["crown"]["appeal_allowed"]
    c_convicted = np.select(
        [crown_type == TRIAL, crown_type == SENTENCE, crown_type == APPEAL],
        [c_convicted, True, ~allowed],
        False,
    )
    c_date = np.where(
        crown_type == NONE, dates.NEVER, receipt + np.where(crown_type == TRIAL, c_delay, 30 + c_delay // 4)
    ).astype(np.int32)
    convicted = np.where(crown_type >= 0, c_convicted, result == CONVICTED)
    sentenced_crown = (crown_type == TRIAL) | (crown_type == SENTENCE)
    sentence_date = np.where(~convicted, dates.NEVER, np.where(sentenced_crown, c_date, mags_date)).astype(np.int32)
    disposal, length, fine = _sentences(
        rng, world, person, severity, motoring, youth, sentenced_crown, remanded, previous
    )
    disposal = np.where(convicted, disposal, NONE).astype(np.int8)
    cases = Cases(
        person=person,
        case_group=off.case_group[idx],
        offence=idx,
        code=code,
        offence_date=when,
        first_hearing=first,
        youth=youth,
        remanded=remanded,
        mags_plea=plea.astype(np.int8),
        mags_result=result.astype(np.int8),
        mags_result_date=mags_date,
        crown_type=crown_type.astype(np.int8),
        crown_receipt=receipt.astype(np.int32),
        crown_plea=c_plea.astype(np.int8),
        crown_convicted=c_convicted,
        crown_result_date=c_date,
        convicted=convicted,
        sentence_court=np.where(convicted, sentenced_crown.astype(np.int8), NONE).astype(np.int8),
        sentence_date=sentence_date,
        disposal=disposal,
        custody_days=np.where(convicted, length, 0),
        fine=np.where(convicted, fine, np.nan),
        previous=previous,
    )
    sec_case, sec_code = _secondary(rng, world, cases)
    return Courts(off, cases, sec_case, sec_code, _offending_view(off, cases))


def _previous(person: np.ndarray, when: np.ndarray) -> np.ndarray:
    """How many cases each person had before this one."""
    order = np.lexsort((when, person))
    ranks = np.empty(len(person), dtype=np.int64)
    sorted_person = person[order]
    starts = np.r_[0, np.flatnonzero(sorted_person[1:] != sorted_person[:-1]) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(person)]))
    ranks[order] = np.arange(len(person)) - run_start
    return ranks


def _secondary(rng, world, cases: Cases) -> tuple[np.ndarray, np.ndarray]:
    """Other offences charged on the same case, drawn from the recordable offence mix."""
    from sdfirst.synth.offending import _offence_codes

    mean = load_yaml("justice.yaml")["offending"]["secondary_offences_mean"]
    table = offence_table()
    counts = rng.poisson(mean * (~table.motoring[cases.code]))
    case = np.repeat(np.arange(len(cases), dtype=np.int64), counts)
    code = _offence_codes(world, rng, cases.person[case], cases.offence_date[case])
    return case, code


def _offending_view(off: Offences, cases: Cases) -> Offending:
    """Offences with their outcomes, aligned with Offences (a caution's outcome is the caution itself)."""
    table = offence_table()
    n = len(off)
    delay = load_yaml("justice.yaml")["offending"]["caution"]["delay_days"]
    case = np.full(n, NONE, dtype=np.int64)
    case[cases.offence] = np.arange(len(cases))
    has_case = case >= 0
    safe = np.where(has_case, case, 0)
    ended = np.where(cases.crown_type >= 0, cases.crown_result_date, cases.mags_result_date)
    outcome = np.where(off.cautioned, off.date + delay, np.where(has_case, ended[safe], dates.NEVER))
    return Offending(
        person=off.person,
        date=off.date,
        code=off.code,
        recordable=off.recordable,
        cautioned=off.cautioned,
        outcome_date=outcome.astype(np.int32),
        convicted=has_case & cases.convicted[safe],
        disposal=np.where(has_case, cases.disposal[safe], NONE).astype(np.int8),
        serious_violence=table.serious_violence[off.code],
        case=case,
    )
