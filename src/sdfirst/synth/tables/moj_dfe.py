"""The MoJ-DfE share's tables: Police National Computer offending histories and National Pupil Database records.

Nothing is simulated here. The NPD tables map the schooling and care of :mod:`sdfirst.synth.education`; the PNC
table maps the police records and the data owners' match of :mod:`sdfirst.synth.data_share`. The two sides are
released pre-matched and without names: NPD rows carry a pupil matching reference, and PNC rows carry both a MoJ
person id (with the recording errors of `recording_errors.yaml`) and the pupil matching reference it was matched to,
as the real share's MOJ_PNC file does.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdfirst.specs import code_lists, load_yaml
from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.columns import Deferred, defer, either, labels, taken_from
from sdfirst.synth.data_share import extract_police_records, match_pupils
from sdfirst.synth.education import (
    Schooling,
    academic_year_label,
    academic_year_of,
    attainment8,
    day_in_year,
    ks2_level,
    ks2_scaled_score,
    simulate_schooling,
)
from sdfirst.synth.ids import make_ids, to_hex
from sdfirst.synth.offending import offence_table
from sdfirst.synth.recording import error_rates, ethnicity_other, ethnicity_strings, record
from sdfirst.synth.tables import Built

DATASET = "moj_dfe"


def _pmr(world, person: np.ndarray) -> np.ndarray:
    """The pupil matching reference of each person, as a 64-bit key (stable across chunks)."""
    return world.person_keys(f"{DATASET}.pupil_matching_reference", person)


def _ints(values: np.ndarray, missing: np.ndarray) -> pa.Array:
    return pa.array(np.where(missing, 0, values).astype(np.int64), mask=missing)


def _sex(male: np.ndarray) -> pa.Array:
    return either(male, "M", "F")


def _urn(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def _row_ids(world, table: str, n: int) -> Deferred:
    return defer(to_hex, make_ids(world.seed, f"{DATASET}.{table}.row", world.chunk, n))


def _window(world):
    """The user's years narrowed to the share's coverage (from the spec)."""
    cov = load_yaml(f"datasets/{DATASET}.yaml")["coverage"]
    return world.coverage(str(cov["start"]), str(cov["end"]))


def _census(world, s: Schooling, pmr: pa.Array) -> tuple[Built, np.ndarray]:
    """school_census: one row per pupil-year in state schools in England, within the census years."""
    par = load_yaml("education.yaml")
    lo, hi = par["scope"]["census_years"]
    win = _window(world)
    in_years = (s.year >= lo) & (s.year <= hi)
    cell = s.state_school[:, None] & s.in_england & in_years & win.contains(s.census_day)
    child, g = np.nonzero(cell)
    p = world.people
    person = s.person[child]
    # ethnicity: the pupil's recorded value, recorded afresh now and then
    eth = SimpleNamespace(ethnicity=s.ethnicity[child].copy())
    rate = error_rates(DATASET)["ethnicity.other"] * par["recording"]["ethnicity_row_share"]
    ethnicity_other(eth, world.rng(f"{DATASET}:census-ethnicity"), rate, world)
    birth_year, birth_month, _ = dates.ymd(p.dob[person])
    sector = s.sector[child, g]
    school_labels = par["schools"]["labels"]
    coding = par["recording"]["census_ethnicity_coding"]
    kinds = list(school_labels.values())  # school kinds are coded by their order here (see education.py)
    sen_labels = par["special_educational_needs"]["labels"]
    district = pc.list_element(pc.split_pattern(world.hoods.sector, " "), 0)
    built = Built(
        {
            "row_id_hash": _row_ids(world, "school_census", len(child)),
            "pupil_matching_reference": defer(taken_from(pmr), child),
            "academic_year": defer(academic_year_label, s.year[child, g]),
            "census_date": dates.to_arrow(s.census_day[child, g]),
            "school_urn": defer(_urn, s.school[child, g]),
            "school_type": defer(functools.partial(labels, kinds), s.school_kind[child, g]),
            "year_group": s.year_group[g].astype(np.int64),
            "sex": defer(_sex, p.male[person]),
            "year_of_birth": birth_year,
            "month_of_birth": birth_month,
            "ethnicity": defer(functools.partial(ethnicity_strings, coding=coding), eth.ethnicity),
            "fsm_eligible": s.fsm[child, g],
            "sen_provision": defer(functools.partial(labels, sen_labels), s.sen[child, g]),
            "lsoa": defer(taken_from(world.hoods.lsoa), sector),
            "postcode_district": defer(taken_from(district), sector),
        },
        person,
    )
    return built, cell


def _ks2(world, s: Schooling, pmr: pa.Array) -> Built:
    k2 = load_yaml("education.yaml")["attainment"]["ks2"]
    year = academic_year_of(s.cohort, k2["year_group"])
    child = np.flatnonzero(s.ks2_sat & _window(world).contains(_results_day(year)))
    new = s.ks2_new[child]
    mz, ez = s.ks2_maths_z[child], s.ks2_english_z[child]
    return Built(
        {
            "row_id_hash": _row_ids(world, "ks2", len(child)),
            "pupil_matching_reference": pmr.take(pa.array(child)),
            "academic_year": academic_year_label(year[child]),
            "school_urn": _urn(s.school[child, s.column(k2["year_group"])]),
            "maths_level": _ints(ks2_level(mz), new),
            "maths_scaled_score": _ints(ks2_scaled_score(mz), ~new),
            "maths_expected": mz >= 0,
            "english_level": _ints(ks2_level(ez), new),
            "reading_scaled_score": _ints(ks2_scaled_score(ez), ~new),
            "english_expected": ez >= 0,
        },
        s.person[child],
    )


def _results_day(year: np.ndarray) -> np.ndarray:
    """A day in the summer term of each academic year, when key stage tests and examinations are sat."""
    return day_in_year(year + 1, *load_yaml("education.yaml")["attainment"]["results_day"])


def _ks4(world, s: Schooling, pmr: pa.Array) -> Built:
    k4 = load_yaml("education.yaml")["attainment"]["ks4"]
    year = academic_year_of(s.cohort, k4["year_group"])
    child = np.flatnonzero(s.ks4_sat & _window(world).contains(_results_day(year)))
    y = year[child]
    z = s.ks4_z[child]
    no_five = y > k4["five_ac_em_last_year"]
    return Built(
        {
            "row_id_hash": _row_ids(world, "ks4", len(child)),
            "pupil_matching_reference": pmr.take(pa.array(child)),
            "academic_year": academic_year_label(y),
            "school_urn": _urn(s.school[child, s.column(k4["year_group"])]),
            "five_ac_em": pa.array(z >= 0, mask=no_five),
            "attainment8": pa.array(attainment8(z), mask=y < k4["attainment8_first_year"]),
        },
        s.person[child],
    )


def _absence(world, s: Schooling, pmr: pa.Array, census_cell: np.ndarray) -> Built:
    first = load_yaml("education.yaml")["absence"]["first_year"]
    child, g = np.nonzero(census_cell & (s.year >= first))
    return Built(
        {
            "row_id_hash": _row_ids(world, "absence", len(child)),
            "pupil_matching_reference": defer(taken_from(pmr), child),
            "academic_year": defer(academic_year_label, s.year[child, g]),
            "school_urn": defer(_urn, s.school[child, g]),
            "sessions_possible": s.sessions_possible[child, g].astype(np.int64),
            "sessions_missed": s.sessions_missed[child, g].astype(np.int64),
            "sessions_unauthorised": s.sessions_unauthorised[child, g].astype(np.int64),
            "persistent_absentee": s.persistent[child, g],
        },
        s.person[child],
    )


def _exclusions(world, s: Schooling, pmr: pa.Array) -> Built:
    par = load_yaml("education.yaml")
    hi = par["scope"]["census_years"][1]
    child, g = s.excl_child, s.excl_group
    keep = (s.year[child, g] <= hi) & _window(world).contains(s.excl_date)
    child, g = child[keep], g[keep]
    perm = s.excl_permanent[keep]
    # the excluding school: for a permanent exclusion, the school before the move
    school = s.school[child, g]
    reasons, types = list(par["exclusions"]["reasons"]), par["exclusions"]["types"]
    return Built(
        {
            "row_id_hash": _row_ids(world, "exclusions", len(child)),
            "pupil_matching_reference": pmr.take(pa.array(child)),
            "academic_year": academic_year_label(s.year[child, g]),
            "school_urn": _urn(school),
            "exclusion_type": either(perm, types["permanent"], types["fixed"]),
            "start_date": dates.to_arrow(s.excl_date[keep]),
            "length_days": _ints(s.excl_days[keep], perm),
            "reason": labels(reasons, s.excl_reason[keep]),
        },
        s.person[child],
    )


def _children_in_need(world, s: Schooling, pmr: pa.Array) -> Built:
    needs = list(load_yaml("education.yaml")["children_in_need"]["primary_need"])
    keep = _window(world).contains(s.cin_start)
    child = s.cin_child[keep]
    return Built(
        {
            "row_id_hash": _row_ids(world, "children_in_need", len(child)),
            "pupil_matching_reference": pmr.take(pa.array(child)),
            "referral_date": dates.to_arrow(s.cin_start[keep]),
            "closure_date": dates.censored(s.cin_end[keep], _window(world).end),
            "primary_need": labels(needs, s.cin_need[keep]),
        },
        s.person[child],
    )


def _children_looked_after(world, s: Schooling, pmr: pa.Array) -> Built:
    codes = list(load_yaml("education.yaml")["looked_after"]["legal_status"])
    win = _window(world)
    keep = (s.cla_start <= win.end) & (s.cla_end >= win.start)
    child = s.cla_child[keep]
    return Built(
        {
            "row_id_hash": _row_ids(world, "children_looked_after", len(child)),
            "pupil_matching_reference": pmr.take(pa.array(child)),
            "period_start_date": dates.to_arrow(s.cla_start[keep]),
            "period_end_date": dates.censored(s.cla_end[keep], win.end),
            "legal_status": labels(codes, s.cla_status[keep]),
        },
        s.person[child],
    )


def _pnc_text_dates(days: np.ndarray, unknown: np.ndarray) -> pa.Array:
    """Dates as the PNC file writes them, text "YYYY-MM-DD", with the file's stand-in for an unknown date."""
    stand_in = load_yaml("education.yaml")["police"]["unknown_date"]
    text = pc.cast(dates.to_arrow(days), pa.string())
    return pc.if_else(pa.array(unknown), pa.scalar(str(stand_in)), text)


def _cases(world, keys: np.ndarray, outcome: np.ndarray, severity: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Each row's case id (one PNC person's offences dealt with on one day are one case) and whether it is the
    case's primary offence (its most serious; the first of equals)."""
    order = np.lexsort((-severity, outcome, keys))
    k, d = keys[order], outcome[order]
    new_case = np.r_[True, (k[1:] != k[:-1]) | (d[1:] != d[:-1])][: len(order)]  # none for an empty chunk
    case = np.empty(len(keys), dtype=np.int64)
    case[order] = np.cumsum(new_case) - 1
    primary = np.zeros(len(keys), dtype=bool)
    primary[order[new_case]] = True
    ids = to_hex(make_ids(world.seed, f"{DATASET}.pnc.case", world.chunk, int(new_case.sum())))
    return ids.take(pa.array(case)), primary


def _police(world, s: Schooling, pmr_keys: np.ndarray) -> Built:
    """pnc_offences: the share's police file, MOJ_PNC: each row's person under the MoJ id the police records
    gave them, and the pupil the data owners matched that id to (empty when unmatched)."""
    pol = extract_police_records(world, s)
    off = world.offending
    par = load_yaml("education.yaml")["police"]
    order = np.lexsort((pol.date, pol.person))
    coding = load_yaml("education.yaml")["recording"]["pnc_ethnicity_coding"]
    rec = record(world, DATASET, pol.person, pol.outcome_date, "moj_dfe.pnc", coding, order=order)
    kept = rec.kept  # an omitted police record is not in the share
    rows, person, when, outcome = pol.rows[kept], pol.person[kept], pol.date[kept], pol.outcome_date[kept]
    keys = rec.person_ids
    found = match_pupils(world, s, keys, person)
    at = np.clip(np.searchsorted(found.pnc_key, keys), 0, max(len(found.pnc_key) - 1, 0))
    matched = found.pnc_key[at] == keys if len(found.pnc_key) else np.zeros(len(keys), dtype=bool)
    pupil = pmr_keys[found.pupil[at]] if len(found.pnc_key) else np.zeros(len(keys), dtype=np.uint64)
    t = offence_table()
    code = off.code[rows].astype(np.int64)
    rng = world.rng(f"{DATASET}:pnc-unknown")
    no_date = rng.random(len(rows)) < par["unknown_date_rate"]
    no_age = rng.random(len(rows)) < par["unknown_age_rate"]
    case, primary = _cases(world, keys, outcome, t.severity[code].astype(np.int64))
    cautioned = pol.cautioned[kept]
    adjudication = par["adjudication_codes"]
    groups = list(code_lists()["offence_groups"]["groups"])
    group_label = [par["offence_group_label"].format(number=i + 1, group=g) for i, g in enumerate(groups)]
    group_of = np.array([groups.index(g) for g in t.group])
    disposal = np.where(cautioned, -1, off.disposal[rows].astype(np.int64))
    sentence = code_list("disposals").strings(disposal)
    built = Built(
        {
            "row_id_hash": _row_ids(world, "pnc_offences", len(rows)),
            "mojuid": to_hex(keys),
            "pupilmatchingrefanonymous": pa.array(to_hex(pupil).to_numpy(zero_copy_only=False), mask=~matched),
            "caseid": case,
            "offenceid": to_hex(make_ids(world.seed, f"{DATASET}.pnc.offence", world.chunk, len(rows))),
            "offencestartdate": _pnc_text_dates(when, no_date),
            "offencestartage": np.where(no_age, par["unknown_age"], pol.age[kept]).astype(np.int64),
            "isprimaryoffence": either(primary, "Y", "N"),
            "disposalrank": np.ones(len(rows), dtype=np.int64),
            "adjudicationcode": either(cautioned, adjudication["caution"], adjudication["conviction"]),
            "offence_group": pa.array(group_label).take(pa.array(group_of[code])),
            "offencecode": pa.array(t.code).take(pa.array(code)),
            "offencedescription": pa.array(t.description).take(pa.array(code)),
            "disposaldate": _pnc_text_dates(outcome, np.zeros(len(rows), dtype=bool)),
            "disposaldescription": pc.if_else(
                pa.array(cautioned), labels(pol.categories, pol.category[kept]), sentence
            ),
        },
        person,
    )
    return built


def build(world) -> dict[str, Built]:
    s = simulate_schooling(world)
    pmr_keys = _pmr(world, s.person)
    pmr = to_hex(pmr_keys)
    census, cell = _census(world, s, pmr)
    return {
        "pnc_offences": _police(world, s, pmr_keys),
        "school_census": census,
        "ks2": _ks2(world, s, pmr),
        "ks4": _ks4(world, s, pmr),
        "absence": _absence(world, s, pmr, cell),
        "exclusions": _exclusions(world, s, pmr),
        "children_in_need": _children_in_need(world, s, pmr),
        "children_looked_after": _children_looked_after(world, s, pmr),
    }
