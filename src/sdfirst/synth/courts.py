"""Criminal courts: first hearings, mode of trial, pleas, verdicts, remand, appeals, and who is sentenced where.

Each prosecuted offence (with any co-defendants) becomes a case at a magistrates' court. Indictable-only and
some either-way cases are sent to the Crown Court for trial; some convicted at the magistrates' court are
committed there for sentence, and a few appeal. The court that convicts (or the Crown Court, after a committal)
passes sentence through :mod:`sdfirst.synth.sentencing`. Pleas, results and Crown Court routes are the code lists
`pleas`, `magistrates_results` and `crown_case_types` (code_lists.yaml); every rate is in justice.yaml (`courts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.offending import Offences, broad_group_of, offence_codes, offence_table, simulate_offences
from sdfirst.synth.population import broad_groups
from sdfirst.synth.sentencing import Convictions, pass_sentences

NONE = -1  # no code: not at the Crown Court, not convicted, not sentenced
MAGISTRATES, CROWN = 0, 1  # the court that passed sentence (Cases.sentence_court)


@dataclass(frozen=True)
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
    mags_plea: np.ndarray  # index into the code list pleas
    mags_result: np.ndarray  # index into magistrates_results
    mags_result_date: np.ndarray
    crown_type: np.ndarray  # index into the code list crown_case_types, NONE
    crown_receipt: np.ndarray
    crown_plea: np.ndarray
    crown_convicted: np.ndarray
    crown_result_date: np.ndarray
    convicted: np.ndarray  # finally convicted (after any appeal)
    sentence_court: np.ndarray  # MAGISTRATES, CROWN or NONE
    sentence_date: np.ndarray
    disposal: np.ndarray  # index into the code list disposals, NONE
    custody_days: np.ndarray  # immediate or suspended custody length; community order length
    fine: np.ndarray
    previous: np.ndarray  # earlier cases of the same person
    row: np.ndarray  # the case's row among every case the courts heard (the draws that depend on no other case)

    def __len__(self) -> int:
        return len(self.person)


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Courts:
    offences: Offences
    cases: Cases
    secondary_case: np.ndarray  # other offences on a case: the case index
    secondary_code: np.ndarray
    offending: Offending
    potential_cases: int  # cases heard before sdfirst.synth.incapacitation set aside those that never happened


def _gamma_days(rng, spec: dict, n: int) -> np.ndarray:
    return np.round(rng.gamma(spec["shape"], spec["scale"], n)).astype(np.int32)


def _trial(rng, court: dict, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whether each case is withdrawn, pleaded guilty or convicted at trial, and its delay, at one court."""
    withdrawn = rng.random(n) < court["withdrawn"]
    guilty = ~withdrawn & (rng.random(n) < court["guilty_plea"])
    convicted_at_trial = ~withdrawn & ~guilty & (rng.random(n) < court["convicted_at_trial"])
    guilty_delay = _gamma_days(rng, court["guilty_plea_delay"], n)
    delay = np.where(guilty, guilty_delay, _gamma_days(rng, court["trial_delay"], n))
    return withdrawn, guilty, convicted_at_trial, delay


def _plea(withdrawn: np.ndarray, guilty: np.ndarray) -> np.ndarray:
    pleas = code_list("pleas")
    return np.where(withdrawn, pleas["no_plea"], np.where(guilty, pleas["guilty"], pleas["not_guilty"]))


def _mags(rng, c: dict, severity, youth, n):
    """Plea, result and result date at the magistrates' court for cases that stay there."""
    m = c["magistrates"]
    results = code_list("magistrates_results")
    withdrawn, guilty, convicted_at_trial, delay = _trial(rng, m, n)
    convicted = guilty | convicted_at_trial
    result = np.where(withdrawn, results["withdrawn"], np.where(convicted, results["convicted"], results["acquitted"]))
    committed = convicted & ~youth & (rng.random(n) < np.array(m["committed_for_sentence"])[severity - 1])
    result = np.where(committed, results["committed_for_sentence"], result)
    return _plea(withdrawn, guilty), result, delay


def _crown(rng, c: dict, n):
    withdrawn, guilty, convicted_at_trial, delay = _trial(rng, c["crown"], n)
    return _plea(withdrawn, guilty), guilty | convicted_at_trial, delay


def simulate_courts(world) -> Courts:
    """Take every offence not cautioned through the courts: which are prosecuted (sdfirst.synth.trends) depends on
    the day an offence happens, which is settled after (sdfirst.synth.incapacitation)."""
    rng = world.rng("courts")
    c = load_yaml("justice.yaml")["courts"]
    results, route, pleas = code_list("magistrates_results"), code_list("crown_case_types"), code_list("pleas")
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
    groups, inverse, members = np.unique(off.case_group[idx], return_inverse=True, return_counts=True)
    delay = _gamma_days(rng, c["first_hearing_delay"], len(groups))[inverse] + np.where(
        motoring, c["motoring_extra_delay"], 0
    )
    first = (when + 1 + delay).astype(np.int32)
    youth = (first - p.dob[person]) / dates.YEAR < c["youth_under_age"]
    # co-defendants are tried together: an either-way case goes to the Crown Court for all of them or none
    venue = rng.random(len(groups))[inverse]
    to_crown = (mode == "indictable") | (
        (mode == "either_way")
        & (venue < np.array(c["either_way_to_crown"])[severity - 1] * np.where(youth, c["youth_to_crown_factor"], 1))
    )
    remanded = rng.random(n) < remand_probability(c, severity, p.ethnicity[person])
    previous = previous_cases(person, first)
    plea, result, mags_delay = _mags(rng, c, severity, youth, n)
    result = np.where(to_crown, results["sent_for_trial"], result)
    plea = np.where(to_crown, pleas["no_plea"], plea)
    mags_date = np.where(to_crown, first, first + mags_delay).astype(np.int32)
    appeal = (result == results["convicted"]) & (rng.random(n) < c["magistrates"]["appeal"])
    committed = result == results["committed_for_sentence"]
    crown_type = np.select([to_crown, committed, appeal], [route["trial"], route["sentence"], route["appeal"]], NONE)
    trial, sentence, appealed = (crown_type == route[key] for key in ("trial", "sentence", "appeal"))
    receipt = np.where(
        crown_type == NONE, dates.NEVER, mags_date + 1 + _gamma_days(rng, c["crown"]["sending_delay"], n)
    )
    c_plea, c_convicted, c_delay = _crown(rng, c, n)
    c_plea = np.where(trial, c_plea, np.where(sentence, pleas["guilty"], pleas["no_plea"]))
    allowed = rng.random(n) < c["crown"]["appeal_allowed"]
    c_convicted = np.select([trial, sentence, appealed], [c_convicted, True, ~allowed], False)
    short = c["crown"]["short_hearing"]
    short_delay = short["days"] + np.floor(c_delay * short["trial_delay_share"]).astype(np.int64)
    c_date = np.where(crown_type == NONE, dates.NEVER, receipt + np.where(trial, c_delay, short_delay)).astype(np.int32)
    convicted = np.where(crown_type >= 0, c_convicted, result == results["convicted"])
    sentenced_crown = trial | sentence
    sentence_date = np.where(~convicted, dates.NEVER, np.where(sentenced_crown, c_date, mags_date)).astype(np.int32)
    group = members[inverse] > 1  # a case with co-defendants
    convictions = Convictions(person, severity, motoring, youth, sentenced_crown, remanded, previous, group)
    sentences = pass_sentences(rng, world, convictions)
    disposal = np.where(convicted, sentences.disposal, NONE).astype(np.int8)
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
        sentence_court=np.where(convicted, np.where(sentenced_crown, CROWN, MAGISTRATES), NONE).astype(np.int8),
        sentence_date=sentence_date,
        disposal=disposal,
        custody_days=np.where(convicted, sentences.length_days, 0),
        fine=np.where(convicted, sentences.fine, np.nan),
        previous=previous,
        row=np.arange(n, dtype=np.int64),
    )
    sec_case, sec_code = _secondary(rng, world, cases)
    return Courts(off, cases, sec_case, sec_code, offending_view(off, cases), n)


def remand_probability(c: dict, severity: np.ndarray, ethnicity: np.ndarray) -> np.ndarray:
    """The chance of remand in custody: courts.remand_in_custody by the offence's severity, its odds multiplied by
    the defendant's broad ethnic group's ratio (justice.yaml `ethnic_groups.remand_odds`, 1 for a group not named)."""
    base = np.array(c["remand_in_custody"])[severity - 1]
    odds = load_yaml("justice.yaml").get("ethnic_groups", {}).get("remand_odds", {})
    names, _ = broad_groups()
    ratio = np.array([odds.get(name, 1.0) for name in names])[broad_group_of(ethnicity)]
    return base * ratio / (1.0 - base + base * ratio)


def previous_cases(person: np.ndarray, when: np.ndarray) -> np.ndarray:
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
    mean = load_yaml("justice.yaml")["offending"]["secondary_offences_mean"]
    table = offence_table()
    counts = rng.poisson(mean * (~table.motoring[cases.code]))
    case = np.repeat(np.arange(len(cases), dtype=np.int64), counts)
    code = offence_codes(world, rng, cases.person[case], cases.offence_date[case])
    return case, code


def offending_view(off: Offences, cases: Cases) -> Offending:
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
