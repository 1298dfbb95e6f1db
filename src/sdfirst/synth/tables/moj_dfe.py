"""The MoJ-DfE share's tables: Police National Computer offending histories and National Pupil Database records.

Nothing is simulated here but how the files code what the simulation decided (unknown PNC dates and ages, SEN
codes and types, the split of sessions over terms, child protection plans, care placements: `education.yaml`
`police` and `npd`), each on a random stream of its own, so that the rest of the share does not depend on it.
The NPD tables map the schooling and care of :mod:`sdfirst.synth.education`; the PNC
table maps the police records and the data owners' match of :mod:`sdfirst.synth.data_share`. The two sides are
released pre-matched and without names: NPD rows carry a pupil matching reference, and PNC rows carry both a MoJ
person id (with the recording errors of `recording_errors.yaml`) and the pupil matching reference it was matched to,
as the real share's MOJ_PNC file does.
"""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdfirst.specs import code_lists, datasets, load_yaml
from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.columns import defer, either, labels, taken_from
from sdfirst.synth.data_share import PupilMatch, extract_police_records, match_pupils
from sdfirst.synth.education import (
    YEAR_DAYS,
    EarlyYears,
    Schooling,
    academic_year_of,
    attainment8,
    day_in_year,
    ks2_gps,
    ks2_level,
    ks2_scaled_score,
    school_moves,
    school_year_share,
    schooling,
    simulate_early_years,
    urn_sector,
    weighted_choice,
)
from sdfirst.synth.ids import make_ids, to_hex
from sdfirst.synth.offending import offence_table
from sdfirst.synth.recording import error_rates, ethnicity_other, ethnicity_strings, record
from sdfirst.synth.tables import Built
from sdfirst.synth.tables.prison_learning import build_prison_learning, people_moj_ids

DATASET = "moj_dfe"


def _pmr(world, person: np.ndarray) -> np.ndarray:
    """The pupil matching reference of each person, as a 64-bit key (stable across chunks)."""
    return world.person_keys(f"{DATASET}.pupil_matching_reference", person)


def _ints(values: np.ndarray, missing: np.ndarray) -> pa.Array:
    return pa.array(np.where(missing, 0, values).astype(np.int64), mask=missing)


def _sex(male: np.ndarray) -> pa.Array:
    return either(male, "M", "F")


def _keys(world, kind: str, n: int) -> pa.Array:
    """n new opaque keys of one kind (a case, an offence, a learner profile), as hex text."""
    return to_hex(make_ids(world.seed, f"{DATASET}.{kind}", world.chunk, n))


def _window(world):
    """The user's years narrowed to the share's coverage (from the spec)."""
    cov = load_yaml(f"datasets/{DATASET}.yaml")["coverage"]
    return world.coverage(str(cov["start"]), str(cov["end"]))


def _acadyr(year: np.ndarray) -> pa.Array:
    """Academic years as the NPD files write them: "2012/2013" for the year starting in 2012."""
    year = np.asarray(year, dtype=np.int64)
    first, second = pc.cast(pa.array(year), pa.string()), pc.cast(pa.array(year + 1), pa.string())
    return pc.binary_join_element_wise(first, second, "/")


def _text_dates(days: np.ndarray) -> pa.Array:
    """Dates as text "YYYY-MM-DD" (empty for NEVER), as the share's delimited files hold them."""
    return pc.cast(dates.to_arrow(days), pa.string())


def _era(year: np.ndarray, par: dict) -> tuple[np.ndarray, list]:
    """For a `before`/`from` setting that changes in given academic years: each year's era index and the values."""
    firsts = sorted(par["from"])
    values = [par["before"], *(par["from"][y] for y in firsts)]
    return np.searchsorted(np.asarray(firsts), year, side="right"), values


def _sen_provision(npd: dict, sen: np.ndarray, year: np.ndarray, plus: np.ndarray) -> pa.Array:
    """senprovision_spr: the SEN level in the codes of its year (School Action Plus for some on support)."""
    era, values = _era(year, npd["sen_provision"])
    codes = np.array(values, dtype=object)[era, sen]
    codes = np.where((era == 0) & (sen == 1) & plus, npd["school_action_plus"]["code"], codes)
    return pa.array(codes, pa.string())


def _sen_type(npd: dict, kind: np.ndarray, none: np.ndarray, year: np.ndarray) -> pa.Array:
    """primarysentype_spr (or secondarysentype_spr): each pupil's need, empty where `none` (no SEN, or no second
    need); BESD is recorded as SEMH from 2014/15."""
    types = np.array(list(npd["sen_primary_type"]), dtype=object)[kind]
    renamed = npd["semh"]
    types = np.where((types == renamed["was"]) & (year >= renamed["from"]), renamed["now"], types)
    return pa.array(types, pa.string(), mask=none)


def _mapped(values: pa.Array, mapping: dict) -> pa.Array:
    """Each value's code in `mapping` (senprovision_spr to senprovisionmajor_spr)."""
    at = pc.index_in(values, value_set=pa.array(list(mapping)))
    return pa.array([str(v) for v in mapping.values()]).take(at)


def _authorities(world) -> np.ndarray:
    """Each neighbourhood's local authority number: a region's neighbourhoods, in their order (by deprivation, as
    schools take them), cut into as many runs as the region has authorities (`npd.local_authorities`), numbered
    region by region. A school serves a run of neighbourhoods too, so most pupils go to school in their home's
    authority, and an authority's areas are alike in deprivation, as some real authorities' are."""
    la = load_yaml("education.yaml")["npd"]["local_authorities"]
    hoods = world.hoods
    number = np.zeros(len(hoods.region), dtype=np.int64)
    first = int(la["first_number"])
    for r, region in enumerate(hoods.regions):
        rows = np.flatnonzero(hoods.region == r)  # contiguous: the neighbourhoods are sorted by region
        count = int(la["per_region"][region])
        number[rows] = first + np.arange(len(rows)) * count // max(len(rows), 1)
        first += count
    return number


def _nine_codes(number: np.ndarray) -> pa.Array:
    """The ONS-style nine-character code of each local authority number (synthetic, as the numbers are)."""
    prefix = load_yaml("education.yaml")["npd"]["local_authorities"]["nine_code_prefix"]
    numbers, at = np.unique(number, return_inverse=True)  # a code per authority, not per row
    return pa.array([f"{prefix}{n:06d}" for n in numbers.tolist()], pa.string()).take(pa.array(at))


def _school_authority(world, s: Schooling, child: np.ndarray, g: np.ndarray, number: np.ndarray) -> np.ndarray:
    """The local authority of each row's school: that of the first neighbourhood the school serves."""
    schools = load_yaml("education.yaml")["schools"]
    kind, urn = s.school_kind[child, g], s.school[child, g]
    n_sectors = len(world.hoods.imd_decile)
    where = np.zeros(len(child), dtype=np.int64)
    for k, name in enumerate(schools["labels"]):
        rows = kind == k
        where[rows] = urn_sector(schools[name], urn[rows], n_sectors)
    return number[where]


def _language(world, npd: dict, s: Schooling, coding: str) -> np.ndarray:
    """languagegroupmajor_spr of each pupil: other than English with a probability by their major ethnic group."""
    rng = world.rng(f"{DATASET}:census-language")
    major = pc.fill_null(_major(npd, ethnicity_strings(s.ethnicity, coding=coding)), "UNCL")
    groups, at = np.unique(np.asarray(major.to_pylist(), dtype=object), return_inverse=True)
    other = np.array([npd["first_language_other"][str(m)] for m in groups])[at]
    codes = npd["language_codes"]
    unclassified = rng.random(len(s)) < npd["language_unclassified"]
    spoken = np.where(rng.random(len(s)) < other, codes["other"], codes["english"])
    return np.where(unclassified, codes["unclassified"], spoken).astype(object)


def _major(npd: dict, minor: pa.Array) -> pa.Array:
    """ethnicgroupmajor_spr from the minor code."""
    mapping = npd["ethnicity_major"]
    at = pc.index_in(minor, value_set=pa.array(list(mapping)))
    return pa.array(list(mapping.values())).take(at)


def _census(world, s: Schooling, pmr: pa.Array) -> tuple[Built, np.ndarray]:
    """school_census: one row per pupil-year in state schools in England, within the census years (the files
    Spring_Census_YYYY, named by the year of the January census)."""
    par = load_yaml("education.yaml")
    npd = par["npd"]
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
    decile = world.hoods.imd_decile[sector].astype(np.int64)  # IDACI decile, under its name of the year
    coding = par["recording"]["census_ethnicity_coding"]
    minor = ethnicity_strings(eth.ethnicity, coding=coding)
    rng = world.rng(f"{DATASET}:census-codes")
    plus = rng.random(len(s)) < npd["school_action_plus"]["share"]
    kind = weighted_choice(rng, npd["sen_primary_type"], len(s))
    year, sen = s.year[child, g], s.sen[child, g]
    more = world.rng(f"{DATASET}:census-more")  # the columns added later draw apart, leaving the others as they were
    second = weighted_choice(more, npd["sen_primary_type"], len(s))
    no_second = (more.random(len(s)) >= npd["sen_secondary_share"]) | (second == kind)
    part_time = more.random(len(child)) < npd["part_time_share"]
    provision = _sen_provision(npd, sen, year, plus[child])
    authority = _authorities(world)
    home, school = authority[sector], _school_authority(world, s, child, g, authority)
    built = Built(
        {
            "pupilmatchingrefanonymous_spr": defer(taken_from(pmr), child),
            "censusyear_spr": (year + 1).astype(np.int64),
            "urn_spr": s.school[child, g].astype(np.int64),
            "la_spr": school,
            "la_9code_spr": _nine_codes(school),
            "homela_spr": home,
            "homela_9code_spr": _nine_codes(home),
            "ageatstartofacademicyear_spr": (s.year_group[g] - 1 + par["scope"]["age_in_year_one"]).astype(np.int64),
            "gender_spr": defer(_sex, p.male[person]),
            "yearofbirth_spr": birth_year,
            "monthofbirth_spr": birth_month,
            "ethnicgroupmajor_spr": _major(npd, minor),
            "ethnicgroupminor_spr": minor,
            "languagegroupmajor_spr": pa.array(_language(world, npd, s, coding)[child], pa.string()),
            "fsmeligible_spr": s.fsm[child, g].astype(np.int64),
            "parttime_spr": part_time.astype(np.int64),
            "senprovision_spr": provision,
            "senprovisionmajor_spr": _mapped(provision, npd["sen_provision_major"]),
            "primarysentype_spr": _sen_type(npd, kind[child], sen == 0, year),
            "secondarysentype_spr": _sen_type(npd, second[child], (sen == 0) | no_second[child], year),
            "llsoa_spr": defer(taken_from(world.hoods.lsoa), sector),
            "lsoa11_spr": defer(taken_from(world.hoods.lsoa), sector),
            "idacidecile_spr": decile,
            "idacidecile_15_spr": decile,  # its later name: the spec's `years` keep each to its own files
        },
        person,
    )
    return built, cell


def _test_marks(test: dict, z: np.ndarray) -> np.ndarray:
    """A KS2 test's marks from the latent scores: round(centre + per_unit * z), within 0 and the test's maximum."""
    return np.clip(np.rint(test["centre"] + test["per_unit"] * z), 0, test["max"]).astype(np.int64)


def _ks2(world, s: Schooling, early: EarlyYears, pmr: pa.Array, gps: np.ndarray) -> Built:
    """ks2: the KS2Pupil file, one row per pupil: levels (and their point scores) and test marks to 2014/15, scaled
    scores from 2015/16, and whether the pupil reached level 4 (the expected standard) in reading, in maths and, from
    2012/13, in grammar, punctuation and spelling. Every pupil with a record sat every test of their year (those who
    did not have no record here), so the flags of absence or no access to a test are 0."""
    k2 = load_yaml("education.yaml")["attainment"]["ks2"]
    year = academic_year_of(s.cohort, k2["year_group"])
    child = np.flatnonzero(s.ks2_sat & _window(world).contains(_results_day(year)))
    new = s.ks2_new[child]
    mz, ez, gz = s.ks2_maths_z[child], s.ks2_english_z[child], gps[child]
    no_gps = np.isnan(gz)
    points = k2["points"]
    table = np.zeros(max(points) + 1)
    table[list(points)] = list(points.values())
    read_level, maths_level = ks2_level(ez), ks2_level(mz)
    aps = (table[read_level] + table[maths_level]) / 2
    ks1 = np.zeros(len(s), dtype=bool)
    ks1[_ks1_recorded(world, s, early)] = True
    missed = np.zeros(len(child), dtype=np.int64)  # the ks2_levat* flags: no test missed or not accessed
    return Built(
        {
            "ks2_pupilmatchingrefanonymous": pmr.take(pa.array(child)),
            "ks2_acadyr": _acadyr(year[child]),
            "ks2_msch": np.ones(len(child), dtype=np.int64),
            "ks2_readlev": _ints(read_level, new),
            "ks2_matlev": _ints(maths_level, new),
            "ks2_readmrk": _ints(_test_marks(k2["exam"]["reading"], ez), new),
            "ks2_mattotmrk": _ints(_test_marks(k2["exam"]["maths"], mz), new),
            "ks2_levxread": (ez >= 0).astype(np.int64),
            "ks2_levxmat": (mz >= 0).astype(np.int64),
            "ks2_levxgps": _ints((gz >= 0).astype(np.int64), no_gps),
            "ks2_levatread": _ints(missed, new),
            "ks2_levatmat": _ints(missed, new),
            "ks2_levatgps": _ints(missed, no_gps),
            "ks2_aps": pa.array(aps, mask=new),
            "ks2_ks1aps": pa.array(_ks1_aps(early)[child], mask=~ks1[child]),
            "ks2_readscore": _ints(ks2_scaled_score(ez), ~new),
            "ks2_matscore": _ints(ks2_scaled_score(mz), ~new),
        },
        s.person[child],
    )


def _ks2_exam(world, s: Schooling, pmr: pa.Array, moj: pa.Array, gps: np.ndarray) -> Built:
    """ks2_exam: the KS2Exam file, one row per pupil and test (reading, maths and, from 2012/13, grammar,
    punctuation and spelling) in the levels era, with the MoJ id of pupils matched to a PNC record."""
    k2 = load_yaml("education.yaml")["attainment"]["ks2"]
    year = academic_year_of(s.cohort, k2["year_group"])
    pupils = np.flatnonzero(s.ks2_sat & ~s.ks2_new & _window(world).contains(_results_day(year)))
    exam = k2["exam"]
    scores = {"reading": s.ks2_english_z, "maths": s.ks2_maths_z, "gps": gps}
    grid = np.stack([scores[name][pupils] for name in exam], axis=1)  # [pupil, test], NaN where no test
    at, subject = np.nonzero(~np.isnan(grid))
    child, z = pupils[at], grid[at, subject]
    tests = [exam[name] for name in exam]
    level = ks2_level(z)
    lo, hi = k2["level_range"]
    fine = np.clip(k2["expected_level"] + z / k2["level_width"], lo, hi + 0.99)
    points = np.zeros(max(k2["points"]) + 1, dtype=np.int64)
    points[list(k2["points"])] = list(k2["points"].values())
    marks = np.zeros(len(z), dtype=np.int64)
    for i, test in enumerate(tests):
        marks[subject == i] = _test_marks(test, z[subject == i])
    return Built(
        {
            "ks2_pupilmatchingrefanonymous": pmr.take(pa.array(child)),
            "mojuid": moj.take(pa.array(child)),
            "ks2_acadyr": _acadyr(year[child]),
            "ks2_leapcode": np.array([test["leapcode"] for test in tests], dtype=np.int64)[subject],
            "ks2_testmark": marks,
            "ks2_testlev": pc.cast(pa.array(level), pa.string()),
            "ks2_fine": np.floor(fine * 100) / 100,  # two decimals, never rounded up into the next level
            "ks2_points": points[level],
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
    return Built(
        {
            "ks4_pupilmatchingrefanonymous": pmr.take(pa.array(child)),
            "ks4_acadyr": _acadyr(y),
            "ks4_level2_em": _ints((z >= 0).astype(np.int64), y > k4["five_ac_em_last_year"]),
            "ks4_att8": pa.array(attainment8(z), mask=y < k4["attainment8_first_year"]),
        },
        s.person[child],
    )


def _terms(rng: np.random.Generator, total: np.ndarray, within: list[np.ndarray]) -> list[np.ndarray]:
    """Share `total` sessions out over the terms, at most `within[t]` in term t (drawn without replacement)."""
    left, room, out = total.astype(np.int64), sum(within).astype(np.int64), []
    for term in within[:-1]:
        room = room - term
        taken = rng.hypergeometric(term, room, left)
        out.append(taken)
        left = left - taken
    return [*out, left]


def _excluded_sessions(s: Schooling) -> np.ndarray:
    """Sessions lost to fixed-period exclusions in each pupil-year [child, year group index]."""
    per_day = load_yaml("education.yaml")["npd"]["sessions_per_day"]
    lost = np.zeros(s.year.shape, dtype=np.int64)
    fixed = ~s.excl_permanent
    np.add.at(lost, (s.excl_child[fixed], s.excl_group[fixed]), s.excl_days[fixed].astype(np.int64) * per_day)
    return lost


def _leaving_share(s: Schooling, child: np.ndarray, g: np.ndarray, year: np.ndarray) -> np.ndarray:
    """For each pupil-year, the share of the year's school days at its school before the pupil left it, permanently
    excluded, for the school of the next year group; 1 where they stayed the year (or there is no next year)."""
    perm = s.excl_permanent
    group = np.full(len(s), -1, dtype=np.int64)
    group[s.excl_child[perm]] = s.excl_group[perm]  # a pupil is permanently excluded once at most
    left = (group[child] == g) & (g + 1 < s.year.shape[1]) & (s.first_permanent[child] != dates.NEVER)
    share = np.ones(len(child))
    share[left] = school_year_share(year[left], s.first_permanent[child[left]])
    return np.where((share > 0) & (share < 1), share, 1.0)


def _school_spells(world, s: Schooling, child: np.ndarray, g: np.ndarray, year: np.ndarray):
    """For each pupil-year, its first school, the school the pupil went to during the year (-1 if none) and the
    share of the year's school days at the first: after a permanent exclusion the pupil goes to the school of the
    next year group; after a move of home in term time (`education.school_moves`), from one census's school to the
    other's."""
    first = s.school[child, g].astype(np.int64)
    second = np.full(len(child), -1, dtype=np.int64)
    share = _leaving_share(s, child, g, year)
    excluded = share < 1
    second[excluded] = s.school[child[excluded], g[excluded] + 1]
    row = np.full(s.school.shape, -1, dtype=np.int64)
    row[child, g] = np.arange(len(child))
    moves = school_moves(world, s)
    at = row[moves.child, moves.g]
    kept = at >= 0  # a pupil-year the absence files hold
    at = at[kept]
    first[at], second[at] = moves.before[kept], moves.after[kept]
    share[at] = moves.share[kept]
    return first, second, share


def _before(values: np.ndarray, share: np.ndarray) -> np.ndarray:
    """The part of a term's sessions that came before the pupil left (rounded, never more than all)."""
    return np.minimum(np.floor(values * share + 0.5).astype(np.int64), values)


def _absence(world, s: Schooling, pmr: pa.Array, census_cell: np.ndarray) -> Built:
    """absence: the Absence_YYYY_3Term files, a row per pupil per school in the year: sessions by term and for the
    year. A pupil who changed school during the year, permanently excluded or moving home, has a second row, at
    the school they went to, holding the sessions after the change (the public code sums a pupil's rows of a
    year)."""
    par = load_yaml("education.yaml")
    child, g = np.nonzero(census_cell & (s.year >= par["absence"]["first_year"]))
    year = s.year[child, g]
    possible = s.sessions_possible[child, g].astype(np.int64)
    missed = s.sessions_missed[child, g].astype(np.int64)
    unauth = s.sessions_unauthorised[child, g].astype(np.int64)
    era, shares = _era(year, par["npd"]["term_shares"])
    share = np.asarray(shares, dtype=float)[era]
    first = np.floor(possible * share[:, 0] + 0.5).astype(np.int64)
    second = np.minimum(np.floor(possible * share[:, 1] + 0.5).astype(np.int64), possible - first)
    term_possible = [first, second, possible - first - second]
    rng = world.rng(f"{DATASET}:absence-terms")
    term_missed = _terms(rng, missed, term_possible)
    term_unauth = _terms(rng, unauth, term_missed)
    excluded = np.minimum(_excluded_sessions(s)[child, g], possible)
    # the share of each term before the pupil left the school (1 for a pupil who stayed the year)
    school, school_after, left = _school_spells(world, s, child, g, year)
    start = np.cumsum(share, axis=1) - share
    within = [np.clip((left - start[:, t]) / np.maximum(share[:, t], 1e-9), 0, 1) for t in range(3)]
    moved = np.flatnonzero(left < 1)
    at = np.concatenate([np.arange(len(child)), moved])  # each row's pupil-year; the second rows last
    second_row = np.arange(len(at)) >= len(child)

    def parts(values: list[np.ndarray]) -> list[np.ndarray]:
        """Each term's sessions on the rows: the part before leaving on the first row, the rest on the second."""
        kept = [_before(v, w) for v, w in zip(values, within, strict=True)]
        return [np.concatenate([k, (v - k)[moved]]) for v, k in zip(values, kept, strict=True)]

    possible_t, missed_t, unauth_t = parts(term_possible), parts(term_missed), parts(term_unauth)
    columns: dict = {
        "pupilmatchingrefanonymous_ab": defer(taken_from(pmr), child[at]),
        "absenceyear_ab": (year[at] + 1).astype(np.int64),
        "estab_ab": np.concatenate([school, school_after[moved]]),
    }
    terms = ("autumn", "spring", "summer")
    kinds = {
        "sessionspossible": [*possible_t, sum(possible_t)],
        "authorisedabsence": [
            m - u for m, u in zip([*missed_t, sum(missed_t)], [*unauth_t, sum(unauth_t)], strict=True)
        ],
        "unauthorisedabsence": [*unauth_t, sum(unauth_t)],
    }
    for kind, values in kinds.items():
        for term, value in zip((*terms, "annual"), values, strict=True):
            columns[f"{kind}_{term}_ab"] = value
    # sessions lost to fixed-period exclusions stay with the school that excluded
    columns["annualreasone_ab"] = np.where(second_row, 0, np.minimum(excluded[at], sum(possible_t)))
    return Built(columns, s.person[child[at]])


def _exclusion_slots() -> int:
    """How many exclusions a row of the exclusions file details: the spec's numbered category columns."""
    names = datasets()[DATASET].tables["exclusions"].column_names
    return sum(1 for name in names if name.startswith("category"))


def _exclusions(world, s: Schooling, pmr: pa.Array) -> Built:
    """exclusions: the Exclusions_YYYY_Table3 files, one row per pupil and year with an exclusion: the year's
    counts, and its exclusions in numbered slots, a permanent one first, then by date."""
    par = load_yaml("education.yaml")
    npd = par["npd"]
    hi = par["scope"]["census_years"][1]
    keep = (s.year[s.excl_child, s.excl_group] <= hi) & _window(world).contains(s.excl_date)
    child, g, perm = s.excl_child[keep], s.excl_group[keep], s.excl_permanent[keep]
    when, days, reason = s.excl_date[keep], s.excl_days[keep].astype(np.int64), s.excl_reason[keep]
    order = np.lexsort((when, ~perm, g, child))
    child, g, perm, when, days, reason = (x[order] for x in (child, g, perm, when, days, reason))
    new = np.r_[True, (child[1:] != child[:-1]) | (g[1:] != g[:-1])][: len(child)]
    row = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    rank = np.arange(len(child)) - first[row]
    n = len(first)
    counts = {
        "permanentexclusioncount_ex": np.bincount(row, weights=perm, minlength=n),
        "totalfixedexclusions_ex": np.bincount(row, weights=~perm, minlength=n),
        "totalfixedsessions_ex": np.bincount(row, weights=np.where(perm, 0, days), minlength=n)
        * npd["sessions_per_day"],
    }
    columns: dict = {
        "pupilmatchingrefanonymous_ex": pmr.take(pa.array(child[first])),
        "exclusionyear_ex": (s.year[child[first], g[first]] + 1).astype(np.int64),
        **{name: value.astype(np.int64) for name, value in counts.items()},
    }
    cats = npd["exclusion_categories"]
    codes = list(par["exclusions"]["reasons"])
    for k in range(_exclusion_slots()):
        at = np.flatnonzero(rank == k)
        has = np.zeros(n, dtype=bool)
        has[row[at]] = True
        slot_perm, slot_reason, slot_day = np.zeros(n, bool), np.full(n, -1), np.full(n, dates.NEVER, np.int32)
        slot_perm[row[at]], slot_reason[row[at]], slot_day[row[at]] = perm[at], reason[at], when[at]
        columns[f"category{k + 1}_ex"] = either(slot_perm, cats["permanent"], cats["fixed"], missing=~has)
        columns[f"reason{k + 1}_ex"] = labels(codes, slot_reason)
        columns[f"startdate{k + 1}_ex"] = _text_dates(slot_day)
    return Built(columns, s.person[child[first]])


def _collection_years(start: np.ndarray, end: np.ndarray, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Expand episodes to the years ending 31 March they are open in (to `last`, for an open one): each row's
    episode index and the calendar year its collection year ends in."""

    def ending(day: np.ndarray) -> np.ndarray:
        y, m, _ = dates.ymd(day)
        return (y + (m >= 4)).astype(np.int64)

    lo = ending(start)
    hi = ending(np.where(end == dates.NEVER, last, end))
    n = np.maximum(hi - lo + 1, 1)
    episode = np.repeat(np.arange(len(start)), n)
    offset = np.arange(len(episode)) - np.repeat(np.cumsum(n) - n, n)
    return episode, lo[episode] + offset


def _children_in_need(world, s: Schooling, pmr: pa.Array) -> Built:
    """children_in_need: the CIN file, one row per referral episode per collection year it is open in."""
    par = load_yaml("education.yaml")
    npd = par["npd"]
    keep = np.flatnonzero(_window(world).contains(s.cin_start))
    child, start, end, need = s.cin_child[keep], s.cin_start[keep], s.cin_end[keep], s.cin_need[keep]
    rng = world.rng(f"{DATASET}:cin-codes")
    cpp = rng.random(len(keep)) < npd["cpp_share"]
    category = np.where(cpp, weighted_choice(rng, npd["cpp_category"], len(keep)), -1)
    # plans of the child's earlier episodes (episodes are sorted by child, then date)
    total = np.cumsum(cpp)
    first = np.r_[True, child[1:] != child[:-1]][: len(child)]
    base = (total - cpp)[np.maximum.accumulate(np.where(first, np.arange(len(child)), 0))] if len(child) else total
    previous = total - cpp - base
    last = dates.day(str(par["children_in_need"]["last_day"]))
    win_end = min(_window(world).end, last)
    episode, year = _collection_years(start, np.where(end > win_end, dates.NEVER, end), win_end)
    age = dates.age_on(world.people.dob[s.person[child]], start).astype(np.int64)
    closed = np.where(end > win_end, dates.NEVER, end)
    return Built(
        {
            "cin_pupilmatchingrefanonymous": pmr.take(pa.array(child[episode])),
            "cin_acadyr": _acadyr(year - 1),
            "cin_referraldate": _text_dates(start[episode]),
            "cin_latestreferraldate": _text_dates(start[episode]),
            "cin_closuredate": _text_dates(closed[episode]),
            "cin_primaryneedcode": labels(list(par["children_in_need"]["primary_need"]), need[episode]),
            "cin_agestartofcinperiod": age[episode],
            "cin_latestcategoryofabuse": labels(list(npd["cpp_category"]), category[episode]),
            "cin_numberofpreviouscpp": previous[episode].astype(np.int64),
        },
        s.person[child[episode]],
    )


def _children_looked_after(world, s: Schooling, pmr: pa.Array) -> Built:
    """children_looked_after: the CLA file, one row per period of care per year ending 31 March it is open in."""
    par = load_yaml("education.yaml")
    npd, lpar = par["npd"], par["looked_after"]
    win = _window(world)
    keep = np.flatnonzero((s.cla_start <= win.end) & (s.cla_end >= win.start))
    child, start, end = s.cla_child[keep], s.cla_start[keep], s.cla_end[keep]
    win_end = min(win.end, dates.day(str(lpar["last_day"])))
    first_year = dates.ymd(np.array([dates.day(str(lpar["first_day"]))]))[0][0] + 1
    episode, year = _collection_years(start, np.where(end > win_end, dates.NEVER, end), win_end)
    inside = year >= first_year
    episode, year = episode[inside], year[inside]
    rng = world.rng(f"{DATASET}:cla-codes")
    needs = {code: v[1] for code, v in par["children_in_need"]["primary_need"].items() if code in npd["cla_needs"]}
    need = weighted_choice(rng, needs, len(keep))
    placement = weighted_choice(rng, npd["cla_placement"], len(episode))
    year_end = day_in_year(year, 3, 31)
    upto = np.minimum(np.where(end[episode] == dates.NEVER, year_end, end[episode]), year_end)
    months = ((upto - start[episode]) / (YEAR_DAYS / 12)).astype(np.int64)
    return Built(
        {
            "cla_pupilmatchingrefanonymous": pmr.take(pa.array(child[episode])),
            "cla_processing_year": year.astype(np.int64),
            "cla_poc_start": _text_dates(start[episode]),
            "cla_poc_length": months,
            "cla_cat_need": labels(list(needs), need[episode]),
            "cla_placement": labels(list(npd["cla_placement"]), placement),
            "cla_legal_status": labels(list(lpar["legal_status"]), s.cla_status[keep][episode]),
        },
        s.person[child[episode]],
    )


def _ks1_recorded(world, s: Schooling, early: EarlyYears) -> np.ndarray:
    """The children with a KS1 record in the share: assessed, in the user's years."""
    return np.flatnonzero(early.ks1_sat & _window(world).contains(_results_day(early.ks1_year)))


def _ks1_aps(early: EarlyYears) -> np.ndarray:
    """Each child's KS1 average point score over reading, writing and maths."""
    points = np.asarray(load_yaml("education.yaml")["early_years"]["ks1"]["points"], dtype=float)
    return points[early.ks1_level].mean(axis=1)


def _ks1(world, s: Schooling, early: EarlyYears, pmr: pa.Array) -> Built:
    """ks1: Key Stage 1 teacher assessments at the end of Year 2, one row per pupil (levels era)."""
    levels = load_yaml("education.yaml")["early_years"]["ks1"]["levels"]
    child = _ks1_recorded(world, s, early)
    level = early.ks1_level[child]
    return Built(
        {
            "ks1_pupilmatchingrefanonymous": pmr.take(pa.array(child)),
            "ks1_acadyr": _acadyr(early.ks1_year[child]),
            "ks1_read": labels(levels, level[:, 0]),
            "ks1_writ": labels(levels, level[:, 1]),
            "ks1_math": labels(levels, level[:, 2]),
            "ks1_aps": _ks1_aps(early)[child],
        },
        s.person[child],
    )


def _moj_ids(s: Schooling, found: PupilMatch) -> pa.Array:
    """Each child's MoJ person id, when the data owners matched a PNC person to them (the first such id)."""
    order = np.argsort(found.pupil, kind="stable")
    pupil, key = found.pupil[order], found.pnc_key[order]
    first = np.r_[True, pupil[1:] != pupil[:-1]][: len(pupil)]
    ids = np.zeros(len(s), dtype=np.uint64)
    has = np.zeros(len(s), dtype=bool)
    ids[pupil[first]], has[pupil[first]] = key[first], True
    return pa.array(to_hex(ids).to_numpy(zero_copy_only=False), mask=~has)


def _eyfsp(world, s: Schooling, early: EarlyYears, pmr: pa.Array, moj: pa.Array) -> Built:
    """eyfsp: the Foundation Stage Profile at the end of Reception, one row per pupil: each scale's points as
    text, and its nine points achieved (T) or not (F), here the first so many."""
    epar = load_yaml("education.yaml")["early_years"]["eyfsp"]
    year = early.eyfsp_year
    child = np.flatnonzero(early.eyfsp_sat & _window(world).contains(_results_day(year)))
    points = early.eyfsp_points[child]
    p = world.people
    person = s.person[child]
    text = pa.array([str(i) for i in range(118)])
    scales = list(epar["scales"])
    columns: dict = {
        "fsp_pupilmatchingrefanonymous": pmr.take(pa.array(child)),
        "mojuid": moj.take(pa.array(child)),
        "fsp_acadyr": _acadyr(year[child]),
        "fsp_gender": _sex(p.male[person]),
        "fsp_age_start": dates.age_on(p.dob[person], day_in_year(year[child], 9, 1)).astype(np.int64),
        "fsp_urn": s.school[child, 0].astype(np.int64),
        "fsp_la": _school_authority(world, s, child, np.zeros(len(child), dtype=np.int64), _authorities(world)),
        "fsp_lsoa01": world.hoods.lsoa.take(pa.array(s.sector[child, 0])),
    }
    for area in epar["area_totals"]:
        at = [i for i, scale in enumerate(scales) if scale.startswith(f"{area}_")]
        columns[f"fsp_{area}_total"] = text.take(pa.array(points[:, at].sum(axis=1)))
    for i, scale in enumerate(scales):
        columns[f"fsp_{scale}"] = text.take(pa.array(points[:, i]))
        stem = scale.replace("_", "")
        for item in range(1, 10):
            columns[f"fsp_{stem}r{item}"] = either(points[:, i] >= item, "T", "F")
    columns["fsp_eyfsp_total"] = text.take(pa.array(points.sum(axis=1)))
    return Built(columns, person)


def _pnc_text_dates(days: np.ndarray, unknown: np.ndarray) -> pa.Array:
    """Dates as the PNC file writes them, text "YYYY-MM-DD", with the file's stand-in for an unknown date."""
    stand_in = load_yaml("education.yaml")["police"]["unknown_date"]
    return pc.if_else(pa.array(unknown), pa.scalar(str(stand_in)), _text_dates(days))


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
    ids = _keys(world, "pnc.case", int(new_case.sum()))
    return ids.take(pa.array(case)), primary


def _further_disposals(world, convicted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The file's rows, a row per disposal: for each row, the offence it repeats (an index into the offences), its
    disposalrank, and the order it records (an index into `police.further_disposals.orders`, -1 for the sentence
    or caution itself). Some convictions bring a second and a third order, each different."""
    par = load_yaml("education.yaml")["police"]["further_disposals"]
    rng = world.rng(f"{DATASET}:pnc-disposals")
    second, third = par["share"]
    u = rng.random(len(convicted))
    extra = np.where(convicted, (u < second).astype(np.int64) + (u < second * third), 0)
    offence = np.repeat(np.arange(len(convicted)), 1 + extra)
    starts = np.cumsum(1 + extra) - (1 + extra)
    rank = np.arange(len(offence)) - np.repeat(starts, 1 + extra) + 1
    kinds = len(par["orders"])
    first = weighted_choice(rng, par["orders"], len(convicted))
    step = rng.integers(1, kinds, len(convicted)) if kinds > 1 else np.zeros(len(convicted), dtype=np.int64)
    order = np.where(rank == 2, first[offence], (first[offence] + step[offence]) % kinds)
    return offence, rank, np.where(rank == 1, -1, order)


def _police(world, s: Schooling, pmr_keys: np.ndarray) -> tuple[Built, PupilMatch]:
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
    sentence = pc.if_else(
        pa.array(cautioned), labels(pol.categories, pol.category[kept]), code_list("disposals").strings(disposal)
    )
    # a row per disposal: the offence's columns repeated (`at`), its own rank and, after the first, an order
    at, rank, further = _further_disposals(world, ~cautioned)
    orders = pa.array(list(par["further_disposals"]["orders"]), pa.string())
    described = pc.if_else(
        pa.array(further < 0), sentence.take(pa.array(at)), orders.take(pa.array(np.maximum(further, 0)))
    )
    index = pa.array(at)
    offence_ids = _keys(world, "pnc.offence", len(rows))
    built = Built(
        {
            "mojuid": to_hex(keys[at]),
            "pupilmatchingrefanonymous": pa.array(to_hex(pupil[at]).to_numpy(zero_copy_only=False), mask=~matched[at]),
            "caseid": case.take(index),
            "offenceid": offence_ids.take(index),
            "offencestartdate": _pnc_text_dates(when[at], no_date[at]),
            "offencestartage": np.where(no_age, par["unknown_age"], pol.age[kept]).astype(np.int64)[at],
            "isprimaryoffence": either(primary[at], "Y", "N"),
            "disposalrank": rank.astype(np.int64),
            "adjudicationcode": either(cautioned[at], adjudication["caution"], adjudication["conviction"]),
            "offence_group": pa.array(group_label).take(pa.array(group_of[code[at]])),
            "offencecode": pa.array(t.code).take(pa.array(code[at])),
            "offencedescription": pa.array(t.description).take(pa.array(code[at])),
            "disposaldate": _pnc_text_dates(outcome[at], np.zeros(len(at), dtype=bool)),
            "disposaldescription": described,
        },
        person[at],
    )
    return built, found


def build(world) -> dict[str, Built]:
    s = schooling(world)
    early = simulate_early_years(world, s)
    pmr_keys = _pmr(world, s.person)
    pmr = to_hex(pmr_keys)
    census, cell = _census(world, s, pmr)
    pnc, found = _police(world, s, pmr_keys)
    moj = _moj_ids(s, found)
    profiles = partial(_keys, world, "learner_profile")
    gps = ks2_gps(world, s)
    return {
        "pnc_offences": pnc,
        "school_census": census,
        "eyfsp": _eyfsp(world, s, early, pmr, moj),
        "ks1": _ks1(world, s, early, pmr),
        "ks2": _ks2(world, s, early, pmr, gps),
        "ks2_exam": _ks2_exam(world, s, pmr, moj, gps),
        "ks4": _ks4(world, s, pmr),
        "absence": _absence(world, s, pmr, cell),
        "exclusions": _exclusions(world, s, pmr),
        "children_in_need": _children_in_need(world, s, pmr),
        "children_looked_after": _children_looked_after(world, s, pmr),
        **build_prison_learning(world, people_moj_ids(pnc, len(world.people)), profiles),
    }
