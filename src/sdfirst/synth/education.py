"""Schooling and children's social care: the National Pupil Database side of the MoJ-DfE share.

For every child of the chunk in scope (born after 31 August 1985, at school in England), this simulates a
school career of national curriculum Years 1 to 11 on a (pupil, year group) grid: schools, free school meals,
special educational needs, attainment at Key Stages 2 and 4, absence, fixed-period and permanent exclusions,
and, over the whole of childhood, referrals to children's social care and periods in care.

Schooling does not cause offending: both read the person's latent risk, deprivation and sex, which is how the
published associations between them appear. Offending reaches schooling at one point: a serious violence offence
makes a permanent exclusion that school year more likely (`exclusions.permanent_serious_violence`). Every
parameter is in `synthetic/education.yaml`; everything is vectorised over the chunk.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pyarrow as pa

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.columns import year_labels
from sdfirst.synth.recording import error_rates, ethnicity_other

YEAR_DAYS = 365.25  # days in a year of age
ENGLAND = 0  # Neighbourhoods.country: 0 England, 1 Wales


def params() -> dict:
    return load_yaml("education.yaml")


# ---------------------------------------------------------------------------------------------------------
# calendar
# ---------------------------------------------------------------------------------------------------------


def academic_year_containing(day: np.ndarray) -> np.ndarray:
    """The academic year (by the calendar year of its start, `scope.year_starts`, 1 September) that each day falls
    in; of a date of birth, the year that opens the child's school cohort (born September to August)."""
    year, month, _ = dates.ymd(day)
    return np.where(month >= params()["scope"]["year_starts"][0], year, year - 1)


def academic_year_of(cohort: np.ndarray, year_group: np.ndarray | int) -> np.ndarray:
    """The academic year (by its first calendar year) in which a cohort is in a year group: the cohort is aged
    `scope.age_in_year_one` at the start of Year 1, a year older in each year group after."""
    return cohort + params()["scope"]["age_in_year_one"] + np.asarray(year_group)


def academic_year_label(year: np.ndarray) -> pa.Array:
    """'2012/13' for 2012."""
    return year_labels(year, lambda y: f"{y}/{(y + 1) % 100:02d}")


def day_in_year(year: np.ndarray, month: int, day: int) -> np.ndarray:
    """Day number of (month, day) in each calendar year."""
    year = np.asarray(year, dtype=np.int64)
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1)
    return (start.astype("datetime64[D]") + (day - 1)).astype(np.int32)


@functools.cache
def _school_days(first: int, last: int, term: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All school days (weekdays in term, Christmas skipped) of academic years first..last, concatenated."""
    (sm, sd), (em, ed), ((cm1, cd1), (cm2, cd2)) = term
    days, starts, counts = [], [], []
    for y in range(first, last + 1):
        a = dt.date(y, sm, sd)
        b = dt.date(y + 1, em, ed)
        x1, x2 = dt.date(y, cm1, cd1), dt.date(y + 1, cm2, cd2)
        span = np.arange(dates.day(a), dates.day(b) + 1, dtype=np.int32)
        weekday = (span.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
        keep = (weekday < 5) & ~((span >= dates.day(x1)) & (span <= dates.day(x2)))
        starts.append(sum(counts))
        counts.append(int(keep.sum()))
        days.append(span[keep])
    return np.concatenate(days), np.array(starts, dtype=np.int64), np.array(counts, dtype=np.int64)


def _calendar(year: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The school days of the academic years asked (made once per span of years), with each year's offset into them
    (`k`, per element of `year`)."""
    term = params()["exclusions"]["term"]
    key = (tuple(term["start"]), tuple(term["end"]), tuple(tuple(x) for x in term["christmas"]))
    first, last = int(year.min()), int(year.max())
    table, starts, counts = _school_days(first, last, key)
    return table, starts, counts, year - first


def school_days(rng: np.random.Generator, year: np.ndarray) -> np.ndarray:
    """A random school day in each academic year (the calendar is made for the years asked, once)."""
    year = np.asarray(year, dtype=np.int64)
    if len(year) == 0:
        return np.zeros(0, dtype=np.int32)
    table, starts, counts, k = _calendar(year)
    pick = starts[k] + (rng.random(len(k)) * counts[k]).astype(np.int64)
    return table[pick]


def school_year_share(year: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The share of each academic year's school days that come before `day` (0 before the year, 1 after it)."""
    year = np.asarray(year, dtype=np.int64)
    if len(year) == 0:
        return np.zeros(0)
    table, starts, counts, k = _calendar(year)
    before = np.clip(np.searchsorted(table, np.asarray(day), side="left") - starts[k], 0, counts[k])
    return before / np.maximum(counts[k], 1)


# ---------------------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------------------


def linear(par: dict, risk: np.ndarray, dep: np.ndarray, male: np.ndarray) -> np.ndarray:
    """intercept + risk * risk + deprivation * dep + male * male."""
    base = par["intercept"] + par["risk"] * risk
    return base + par["deprivation"] * dep + par["male"] * male.astype(np.float64)


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logistic_noise(rng: np.random.Generator, shape) -> np.ndarray:
    u = rng.random(shape)
    return np.log(u) - np.log1p(-u)


def deprivation_score(decile: np.ndarray) -> np.ndarray:
    """Standardised deprivation: mean 0, about unit variance, higher = more deprived."""
    cov = params()["covariates"]
    return (cov["deprivation_centre"] - decile.astype(np.float64)) / cov["deprivation_scale"]


def weighted_choice(rng: np.random.Generator, weights: dict, n: int) -> np.ndarray:
    """n indices into the keys of a mapping of relative weights (a weight, or [label, weight])."""
    w = np.array([v[1] if isinstance(v, list) else v for v in weights.values()], dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def by_year(year: np.ndarray, par: dict) -> np.ndarray:
    """A value that changes in given academic years: `before` until the first of `from`'s years, then each
    `from` value from its year on."""
    out = np.full(np.shape(year), par["before"])
    for first, value in sorted(par["from"].items()):
        out = np.where(year >= first, value, out)
    return out


def _gamma(rng: np.random.Generator, par: dict, n: int) -> np.ndarray:
    return rng.gamma(par["shape"], par["scale"], n)


# ---------------------------------------------------------------------------------------------------------
# the simulation
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schooling:
    """The schooling and social care of the chunk's children in scope.

    Person-level arrays have one entry per child in scope (`person`, sorted); grid arrays are [child, year
    group index 0..10] for Years 1..11; event arrays (exclusions, referrals, care episodes) carry `child`, an
    index into the person-level arrays, and are sorted by child then date.
    """

    # children in scope
    person: np.ndarray  # int64 chunk-local person index
    cohort: np.ndarray  # int64 academic birth year (Year 1 in cohort + 6)
    state_school: np.ndarray  # bool: in state-funded schools, so in the NPD
    ability: np.ndarray
    ethnicity: np.ndarray  # int16 recorded ethnicity of the pupil (-1 not stated)
    sen_level: np.ndarray  # int8 highest SEN level 0..2
    # grid [child, year group]
    year_group: np.ndarray  # int64 the national curriculum year of each grid column
    year: np.ndarray  # int64 academic year
    in_england: np.ndarray  # bool: address in England on the census day
    sector: np.ndarray  # int32 neighbourhood on the census day
    census_day: np.ndarray  # int32
    school: np.ndarray  # int64 URN
    school_kind: np.ndarray  # int8 0 primary, 1 secondary, 2 pupil referral unit
    fsm: np.ndarray  # bool
    sen: np.ndarray  # int8 0 none, 1 support, 2 plan
    sessions_possible: np.ndarray
    sessions_missed: np.ndarray
    sessions_unauthorised: np.ndarray
    persistent: np.ndarray  # bool
    # key stages (per child; ks*_sat False means no record)
    ks2_sat: np.ndarray
    ks2_new: np.ndarray  # bool: scaled scores (2016 on)
    ks2_maths_z: np.ndarray
    ks2_english_z: np.ndarray
    ks4_sat: np.ndarray
    ks4_z: np.ndarray
    # exclusions
    excl_child: np.ndarray
    excl_group: np.ndarray  # year group index 0..10
    excl_permanent: np.ndarray
    excl_date: np.ndarray
    excl_days: np.ndarray
    excl_reason: np.ndarray
    first_permanent: np.ndarray  # int32 per child, NEVER when none
    # children in need referrals
    cin_child: np.ndarray
    cin_start: np.ndarray
    cin_end: np.ndarray
    cin_need: np.ndarray
    # looked-after episodes
    cla_child: np.ndarray
    cla_start: np.ndarray
    cla_end: np.ndarray
    cla_status: np.ndarray

    def __len__(self) -> int:
        return len(self.person)

    def column(self, year_group: int) -> int:
        """The grid column of a national curriculum year."""
        return int(year_group - self.year_group[0])


def _in_scope(world) -> tuple[np.ndarray, np.ndarray]:
    """Children born after the cut-off whose address at the scope year group was in England."""
    par = params()["scope"]
    p = world.people
    born = np.flatnonzero(p.dob > dates.day(str(par["born_after"])))
    cohort = academic_year_containing(p.dob[born])
    last = par["census_years"][1]
    year = np.clip(academic_year_of(cohort, par["scope_year_group"]), None, last)
    year = np.maximum(year, academic_year_of(cohort, par["year_groups"][0]))
    when = day_in_year(year, *par["year_starts"])
    sector = p.addr_sector[born, p.address_index(born, when)]
    keep = world.hoods.country[sector] == ENGLAND
    return born[keep], cohort[keep]


def _urn(kind_par: dict, sector: np.ndarray, n_sectors: int) -> np.ndarray:
    """The synthetic URN of the school of a kind that serves each sector: sectors share schools in proportion to
    the kind's count, and a fixed scramble (an id scheme, not a parameter) keeps neighbouring schools' URNs apart."""
    count = int(kind_par["count"])
    idx = sector.astype(np.int64) * count // n_sectors
    return kind_par["urn_base"] + (idx * 7919 + 13) % count


def urn_sector(kind_par: dict, urn: np.ndarray, n_sectors: int) -> np.ndarray:
    """The first neighbourhood a school of a kind serves (`_urn` turned round): where the school is, for what the
    NPD records of a school's place, such as its local authority. A URN past the kind's range (a move after an
    exclusion) wraps round, as an id scheme does."""
    count = int(kind_par["count"])
    idx = ((np.asarray(urn, dtype=np.int64) - kind_par["urn_base"] - 13) * pow(7919, -1, count)) % count
    return (idx * n_sectors + count - 1) // count


@dataclass(frozen=True)
class _Pupils:
    """What every step of a school career reads: the children in scope, their linear predictor and the stream.

    The steps draw from one stream in a fixed order (that of simulate_schooling), so that the data do not depend
    on how the steps are written.
    """

    rng: np.random.Generator
    lin: Callable[[dict], np.ndarray]  # the linear predictor of a model's coefficients, per child
    n: int
    first_group: int  # the national curriculum year of grid column 0
    groups: int  # grid columns


def schooling(world) -> Schooling:
    """The chunk's schooling, simulated once however many tables read it (the share's files, prison education)."""
    return world.memo("schooling", lambda: simulate_schooling(world))


def simulate_schooling(world) -> Schooling:
    """Schooling and social care of the chunk's children in scope (see the module docstring)."""
    par = params()
    p = world.people
    person, cohort = _in_scope(world)
    risk, male = p.risk[person].astype(np.float64), p.male[person]
    first_group, last_group = par["scope"]["year_groups"]
    pupils = _Pupils(
        rng=world.rng("education"),
        lin=functools.partial(linear, risk=risk, dep=deprivation_score(p.deprivation[person]), male=male),
        n=len(person),
        first_group=first_group,
        groups=last_group - first_group + 1,
    )
    # who is in state schools, and their recorded ethnicity
    state = pupils.rng.random(pupils.n) >= logistic(pupils.lin(par["scope"]["independent_school"]))
    eth = SimpleNamespace(ethnicity=p.ethnicity[person].astype(np.int16))
    ethnicity_other(eth, pupils.rng, error_rates("moj_dfe")["ethnicity.other"], world)
    grid = _grid(world, par, pupils, person, cohort)
    fsm = _free_school_meals(par["free_school_meals"], pupils, grid["year"])
    sen = _special_needs(par["special_educational_needs"], pupils)
    violent = _violent_years(world, person, grid["year"])
    excl = _exclusions(par, pupils, state, sen["sen"], grid, violent, len(world.hoods.imd_decile))
    grid.update(school=excl.pop("school"), school_kind=excl.pop("school_kind"))  # moved after an exclusion
    attainment = _attainment(par, pupils, cohort, state, sen["sen"], grid["in_england"], excl.pop("has_perm"))
    absence = _absence(par["absence"], pupils, sen["sen"], fsm, grid["year"])
    dob = p.dob[person]
    adult = dates.add_years(dob, par["scope"]["adult_age"])
    return Schooling(
        person=person,
        cohort=cohort,
        state_school=state,
        ethnicity=eth.ethnicity,
        fsm=fsm,
        **grid,
        **sen,
        **excl,
        **attainment,
        **absence,
        **_children_in_need(par["children_in_need"], pupils, state, dob, adult),
        **_looked_after(par["looked_after"], pupils, state, dob, adult),
    )


def _grid(world, par: dict, pupils: _Pupils, person: np.ndarray, cohort: np.ndarray) -> dict[str, np.ndarray]:
    """The grid of school years: the academic year, census day, address and school of each pupil-year."""
    p, n, groups = world.people, pupils.n, pupils.groups
    g = np.arange(groups)
    year = academic_year_of(cohort[:, None], g[None, :] + pupils.first_group)
    cm, cd = par["scope"]["census_day"]
    census_day = day_in_year(year + 1, cm, cd)
    flat_person = np.repeat(person, groups)
    k = p.address_index(flat_person, census_day.ravel())
    sector = p.addr_sector[flat_person, k].reshape(n, groups)
    schools = par["schools"]
    n_sectors = len(world.hoods.imd_decile)
    secondary = g[None, :] + pupils.first_group >= schools["first_secondary_year_group"]
    school = np.where(
        secondary, _urn(schools["secondary"], sector, n_sectors), _urn(schools["primary"], sector, n_sectors)
    )
    kinds = list(schools["labels"])  # school kinds are coded by their order in the spec's labels
    kind = np.where(secondary, kinds.index("secondary"), kinds.index("primary"))
    return {
        "year_group": g + pupils.first_group,
        "year": year,
        "in_england": world.hoods.country[sector] == ENGLAND,
        "sector": sector,
        "census_day": census_day,
        "school": school,
        "school_kind": np.broadcast_to(kind, (n, groups)).astype(np.int8),
    }


def _free_school_meals(fpar: dict, pupils: _Pupils, year: np.ndarray) -> np.ndarray:
    """Free school meals: one spell of eligibility between two year groups, for pupils ever eligible."""
    rng, n, g = pupils.rng, pupils.n, np.arange(pupils.groups)
    ever_fsm = rng.random(n) < logistic(pupils.lin(fpar["ever"]))
    ends = np.sort(rng.integers(0, pupils.groups, (n, 2)), axis=1)
    fsm = ever_fsm[:, None] & (g[None, :] >= ends[:, :1]) & (g[None, :] <= ends[:, 1:])
    return fsm & (year >= fpar["first_year"])


def _special_needs(spar: dict, pupils: _Pupils) -> dict[str, np.ndarray]:
    """Special educational needs: ordered logistic, from an onset year group to the end of schooling."""
    rng, n, g = pupils.rng, pupils.n, np.arange(pupils.groups)
    latent = pupils.lin(spar["latent"]) + logistic_noise(rng, n)
    sen_level = (latent > spar["cut_support"]).astype(np.int8) + (latent > spar["cut_plan"]).astype(np.int8)
    lo_s, hi_s = spar["support_from_year_groups"]
    lo_p, hi_p = spar["plan_from_year_groups"]
    onset = np.where(sen_level == 2, rng.integers(lo_p, hi_p + 1, n), rng.integers(lo_s, hi_s + 1, n))
    onset = onset - pupils.first_group
    sen = np.where(g[None, :] >= onset[:, None], sen_level[:, None], 0).astype(np.int8)
    return {"sen_level": sen_level, "sen": sen}


def _violent_years(world, person: np.ndarray, year: np.ndarray) -> np.ndarray:
    """(pupil, grid column): whether the pupil commits a serious violence offence in that academic year (any
    offence, whether or not it reaches a court: the school responds to the act)."""
    view = world.courts.offending
    pupil_of = np.full(len(world.people), -1, dtype=np.int64)
    pupil_of[person] = np.arange(len(person))
    rows = np.flatnonzero(view.serious_violence & (pupil_of[view.person] >= 0))
    pupil = pupil_of[view.person[rows]]
    column = academic_year_containing(view.date[rows]) - year[pupil, 0]
    inside = (column >= 0) & (column < year.shape[1])
    violent = np.zeros(year.shape, dtype=bool)
    violent[pupil[inside], column[inside]] = True
    return violent


def _exclusions(
    par: dict,
    pupils: _Pupils,
    state: np.ndarray,
    sen: np.ndarray,
    grid: dict[str, np.ndarray],
    violent: np.ndarray,
    n_sectors: int,
) -> dict[str, np.ndarray]:
    """Fixed-period and permanent exclusions, with the schools (and kinds of school) of every pupil-year after a
    permanent exclusion, and `has_perm` (permanently excluded at all), which attainment reads. `violent` marks the
    pupil-years with a serious violence offence."""
    rng, n, groups, lin = pupils.rng, pupils.n, pupils.groups, pupils.lin
    xpar, schools = par["exclusions"], par["schools"]
    year, in_england, school, kind = grid["year"], grid["in_england"], grid["school"], grid["school_kind"]
    g = np.arange(groups)
    pupil_effect = rng.standard_normal(n) * xpar["pupil_sd"]
    fixed_rate = np.exp(
        lin(xpar["fixed"])[:, None]
        + np.asarray(xpar["fixed_sen_effect"])[sen]
        + np.asarray(xpar["fixed_year_group_effect"])[None, :]
        + pupil_effect[:, None]
    )
    n_fixed = rng.poisson(fixed_rate)
    n_fixed[year < xpar["fixed_first_year"]] = 0
    perm_p = logistic(
        lin(xpar["permanent"])[:, None]
        + np.asarray(xpar["permanent_year_group_effect"])[None, :]
        + xpar["permanent_pupil_weight"] * pupil_effect[:, None]
        + xpar["permanent_serious_violence"] * violent
    )
    perm_hit = (rng.random((n, groups)) < perm_p) & state[:, None] & in_england
    has_perm = perm_hit.any(axis=1)
    perm_group = np.where(has_perm, perm_hit.argmax(axis=1), groups)
    perm_date = np.full(n, dates.NEVER, dtype=np.int32)
    rows = np.flatnonzero(has_perm)
    perm_date[rows] = school_days(rng, year[rows, perm_group[rows]])
    recorded_perm = has_perm & (year[np.arange(n), np.minimum(perm_group, groups - 1)] >= xpar["permanent_first_year"])
    # after a permanent exclusion: a pupil referral unit, or another mainstream school
    to_pru = rng.random(n) < schools["pru_after_permanent_exclusion"]
    after = g[None, :] > perm_group[:, None]
    pru = _urn(schools["pupil_referral_unit"], grid["sector"], n_sectors)
    moved = school + 1 + (rng.integers(*schools["moved_urn_step"], n)[:, None])
    school = np.where(after & to_pru[:, None], pru, np.where(after, moved, school))
    kinds = list(schools["labels"])
    kind = np.where(after & to_pru[:, None], kinds.index("pupil_referral_unit"), kind).astype(np.int8)

    # exclusion events
    fixed_cells = np.repeat(np.arange(n * groups), n_fixed.ravel())
    f_child, f_group = np.divmod(fixed_cells, groups)
    f_date = school_days(rng, year.ravel()[fixed_cells])
    length = xpar["fixed_length_days"]
    f_days = np.minimum(1 + rng.poisson(length["mean"] - 1, len(fixed_cells)), length["max"])
    p_child = np.flatnonzero(recorded_perm)
    excl_child = np.concatenate([f_child, p_child])
    excl_group = np.concatenate([f_group, perm_group[p_child]])
    excl_perm = np.concatenate([np.zeros(len(f_child), bool), np.ones(len(p_child), bool)])
    excl_date = np.concatenate([f_date, perm_date[p_child]]).astype(np.int32)
    excl_days = np.concatenate([f_days, np.zeros(len(p_child), np.int64)])
    excl_reason = weighted_choice(rng, xpar["reasons"], len(excl_child))
    # a fixed-period exclusion cannot follow a permanent one in the same school year at the same school
    keep = ~((excl_group == perm_group[excl_child]) & ~excl_perm & (excl_date > perm_date[excl_child]))
    keep &= state[excl_child] & in_england[excl_child, excl_group]
    order = np.lexsort((excl_date, excl_child))
    order = order[keep[order]]
    return {
        "school": school,
        "school_kind": kind,
        "has_perm": has_perm,
        "excl_child": excl_child[order],
        "excl_group": excl_group[order],
        "excl_permanent": excl_perm[order],
        "excl_date": excl_date[order],
        "excl_days": excl_days[order],
        "excl_reason": excl_reason[order],
        "first_permanent": np.where(recorded_perm, perm_date, dates.NEVER).astype(np.int32),
    }


def _attainment(
    par: dict,
    pupils: _Pupils,
    cohort: np.ndarray,
    state: np.ndarray,
    sen: np.ndarray,
    in_england: np.ndarray,
    has_perm: np.ndarray,
) -> dict[str, np.ndarray]:
    """Latent ability and the latent KS2 and KS4 scores, and whether each pupil has a record of them."""
    rng, n, lin = pupils.rng, pupils.n, pupils.lin
    apar = par["attainment"]
    ability = rng.standard_normal(n)
    k2 = apar["ks2"]
    ks2_col, ks4_col = k2["year_group"] - pupils.first_group, apar["ks4"]["year_group"] - pupils.first_group
    ks2_year = academic_year_of(cohort, k2["year_group"])
    ks2_new = ks2_year >= k2["new_curriculum_from"]
    sen6 = sen[:, ks2_col]

    def ks2_score(subject: dict) -> np.ndarray:
        base = np.where(ks2_new, lin(subject["expected_standard"]), lin(subject["levels"]))
        noise = logistic_noise(rng, n)
        return base + np.asarray(k2["sen_effect"])[sen6] + apar["ability_weight"] * ability + noise

    maths_z = ks2_score(k2["maths"])
    english_z = ks2_score(k2["english"])
    ks2_sat = (
        state
        & in_england[:, ks2_col]
        & (ks2_year >= k2["first_year"])
        & (ks2_year <= par["scope"]["census_years"][1])
        & ~np.isin(ks2_year, k2["skipped_years"])
        & (rng.random(n) >= k2["not_sat"])
    )
    k4 = apar["ks4"]
    ks4_year = academic_year_of(cohort, k4["year_group"])
    ks4_z = (
        lin(k4["latent"])
        + np.asarray(k4["sen_effect"])[sen[:, ks4_col]]
        + k4["permanently_excluded"] * has_perm
        + apar["ability_weight"] * ability
        + logistic_noise(rng, n)
    )
    ks4_sat = (
        state
        & in_england[:, ks4_col]
        & (ks4_year >= k4["first_year"])
        & (ks4_year <= par["scope"]["census_years"][1])
        & (rng.random(n) >= k4["not_sat"])
    )
    return {
        "ability": ability,
        "ks2_sat": ks2_sat,
        "ks2_new": ks2_new,
        "ks2_maths_z": maths_z,
        "ks2_english_z": english_z,
        "ks4_sat": ks4_sat,
        "ks4_z": ks4_z,
    }


def _absence(bpar: dict, pupils: _Pupils, sen: np.ndarray, fsm: np.ndarray, year: np.ndarray) -> dict[str, np.ndarray]:
    """Sessions possible, missed and missed without authority in each pupil-year, and persistent absence."""
    rng, n, groups, lin = pupils.rng, pupils.n, pupils.groups, pupils.lin
    rate = logistic(
        lin(bpar["rate"])[:, None]
        + np.asarray(bpar["sen_effect"])[sen]
        + bpar["fsm_effect"] * fsm
        + np.asarray(bpar["year_group_effect"])[None, :]
        + rng.standard_normal(n)[:, None] * bpar["pupil_sd"]
        + rng.standard_normal((n, groups)) * bpar["year_sd"]
    )
    possible = by_year(year, bpar["sessions_possible"])
    part = rng.random((n, groups)) < bpar["part_year_share"]
    shrink = rng.uniform(*bpar["part_year_fraction"], (n, groups))
    possible = np.where(part, (possible * shrink).astype(np.int64), possible)
    missed = rng.binomial(possible, rate)
    unauth = rng.binomial(missed, logistic(lin(bpar["unauthorised_share"]))[:, None])
    threshold = by_year(year, bpar["persistent_threshold"])
    return {
        "sessions_possible": possible,
        "sessions_missed": missed,
        "sessions_unauthorised": unauth,
        "persistent": missed >= threshold * possible,
    }


def _children_in_need(
    cpar: dict, pupils: _Pupils, state: np.ndarray, dob: np.ndarray, adult: np.ndarray
) -> dict[str, np.ndarray]:
    """Referrals to children's social care over childhood, recorded when they start within the census years."""
    rng, n = pupils.rng, pupils.n
    ever_cin = state & (rng.random(n) < logistic(pupils.lin(cpar["ever"])))
    n_ref = np.where(ever_cin, 1 + rng.poisson(cpar["extra_referrals_mean"], n), 0)
    cin_child = np.repeat(np.arange(n), n_ref)
    cin_start = (dob[cin_child] + rng.random(len(cin_child)) * cpar["referral_age_years"] * YEAR_DAYS).astype(np.int32)
    order_cin = np.lexsort((cin_start, cin_child))
    cin_child, cin_start = cin_child[order_cin], cin_start[order_cin]
    nxt = np.r_[cin_start[1:], dates.NEVER].astype(np.int64)
    same = np.r_[cin_child[1:] == cin_child[:-1], False]
    cin_end = cin_start + _gamma(rng, cpar["duration_days"], len(cin_child)).astype(np.int64) + 1
    cin_end = np.minimum(cin_end, np.where(same, nxt - 1, dates.NEVER))
    cin_end = np.minimum(cin_end, adult[cin_child] - 1).astype(np.int32)
    cin_need = weighted_choice(rng, cpar["primary_need"], len(cin_child))
    lo, hi = dates.day(str(cpar["first_day"])), dates.day(str(cpar["last_day"]))
    keep = (cin_start >= lo) & (cin_start <= hi) & (cin_end >= cin_start)
    cin_end = np.where(cin_end > hi, dates.NEVER, cin_end).astype(np.int32)
    return {
        "cin_child": cin_child[keep],
        "cin_start": cin_start[keep],
        "cin_end": cin_end[keep],
        "cin_need": cin_need[keep],
    }


def _looked_after(
    lpar: dict, pupils: _Pupils, state: np.ndarray, dob: np.ndarray, adult: np.ndarray
) -> dict[str, np.ndarray]:
    """Periods in care, one after another with gaps, recorded when they are open within the return's years."""
    rng, n = pupils.rng, pupils.n
    ever_cla = state & (rng.random(n) < logistic(pupils.lin(lpar["ever"])))
    n_eps = np.where(ever_cla, 1 + rng.poisson(lpar["extra_episodes_mean"], n), 0)
    cla_child = np.repeat(np.arange(n), n_eps)
    first = np.r_[True, cla_child[1:] != cla_child[:-1]] if len(cla_child) else np.zeros(0, bool)
    length = _gamma(rng, lpar["duration_days"], len(cla_child)).astype(np.int64) + 1
    gap = np.where(first, 0, _gamma(rng, lpar["gap_days"], len(cla_child)).astype(np.int64) + 1)
    start_ages = rng.random(len(cla_child)) * lpar["first_start_age_years"] * YEAR_DAYS
    begin = dob[cla_child].astype(np.int64) + start_ages.astype(np.int64)
    # cumulative: each episode starts after the end of the previous one plus a gap
    step = np.where(first, 0, gap) + np.r_[0, length[:-1]] * ~first
    firsts = np.where(first, np.arange(len(cla_child)), 0)
    group_start = np.maximum.accumulate(firsts) if len(firsts) else firsts
    csum = np.cumsum(step)
    cla_start = begin[group_start] + csum - csum[group_start]
    cla_end = cla_start + length - 1
    cla_end = np.minimum(cla_end, adult[cla_child].astype(np.int64) - 1)
    lo_c, hi_c = dates.day(str(lpar["first_day"])), dates.day(str(lpar["last_day"]))
    keep_cla = (cla_start < adult[cla_child]) & (cla_end >= lo_c) & (cla_start <= hi_c)
    cla_end = np.where(cla_end > hi_c, dates.NEVER, cla_end)
    cla_status = weighted_choice(rng, lpar["legal_status"], len(cla_child))
    return {
        "cla_child": cla_child[keep_cla],
        "cla_start": cla_start[keep_cla].astype(np.int32),
        "cla_end": cla_end[keep_cla].astype(np.int32),
        "cla_status": cla_status[keep_cla],
    }


# ---------------------------------------------------------------------------------------------------------
# key stage results from latent scores
# ---------------------------------------------------------------------------------------------------------


def ks2_level(z: np.ndarray) -> np.ndarray:
    """National curriculum level: the expected level (4) from a latent score of zero, one level per `level_width`."""
    k2 = params()["attainment"]["ks2"]
    lo, hi = k2["level_range"]
    return np.clip(k2["expected_level"] + np.floor(z / k2["level_width"]), lo, hi).astype(np.int64)


def ks2_scaled_score(z: np.ndarray) -> np.ndarray:
    """Scaled score: the expected standard (100) from a latent score of zero, a point below it under zero."""
    k2 = params()["attainment"]["ks2"]
    lo, hi = k2["scaled_score_range"]
    step, expected = k2["scaled_score_per_unit"], k2["expected_scaled_score"]
    score = np.where(z >= 0, expected + np.floor(z * step), expected - 1 - np.floor(-z * step))
    return np.clip(score, lo, hi).astype(np.int64)


@dataclass(frozen=True)
class SchoolMoves:
    """Changes of school during a school year because the pupil moved home: in the pupil-year (`child`, grid column
    `g`) the pupil was at `before` until `day`, then at `after` (both schools of the same kind); `share` is the
    part of that year's school days before the move."""

    child: np.ndarray
    g: np.ndarray
    day: np.ndarray
    share: np.ndarray
    before: np.ndarray
    after: np.ndarray


def school_moves(world, s: Schooling) -> SchoolMoves:
    """The moves of home that changed a pupil's school in term time, from the address history: a pupil whose
    census schools of two years in a row differ (of the same kind, so not the move to secondary school) moved to
    the second on the day their address of the second census began. The move falls in the school year that
    holds that day: the earlier year if it came after the first census, the later if it came in the autumn before
    the second. A move in the holidays changes no year. Pupils ever permanently excluded are left out: their
    schools after the exclusion follow it (the absence file's rows for the excluded)."""
    excluded = np.zeros(len(s), dtype=bool)
    excluded[s.excl_child[s.excl_permanent]] = True
    if s.school.shape[1] < 2:
        none = np.zeros(0, dtype=np.int64)
        return SchoolMoves(none, none, none.astype(np.int32), np.zeros(0), none, none)
    prev, now = s.school[:, :-1], s.school[:, 1:]
    changed = (
        (prev != now)
        & (s.school_kind[:, :-1] == s.school_kind[:, 1:])
        & s.in_england[:, :-1]
        & s.in_england[:, 1:]
        & s.state_school[:, None]
        & ~excluded[:, None]
    )
    child, before_g = np.nonzero(changed)
    person = s.person[child]
    p = world.people
    k = p.address_index(person, s.census_day[child, before_g + 1])
    day = p.addr_start[person, k]
    later = day >= day_in_year(s.year[child, before_g + 1], 9, 1)  # in the autumn before the second census
    g = np.where(later, before_g + 1, before_g)
    share = school_year_share(s.year[child, g], day)
    term_time = (share > 0) & (share < 1)
    keep = np.flatnonzero(term_time)
    return SchoolMoves(
        child[keep],
        g[keep],
        day[keep].astype(np.int32),
        share[keep],
        prev[child[keep], before_g[keep]],
        now[child[keep], before_g[keep]],
    )


def ks2_gps(world, s: Schooling) -> np.ndarray:
    """Each child's latent score in the KS2 grammar, punctuation and spelling test, NaN where their KS2 year had no
    such test in levels (`attainment.ks2.gps`). It follows the English score with noise of its own, drawn on a
    stream of its own, so that nothing else in the schooling depends on it."""
    k2 = params()["attainment"]["ks2"]
    gps = k2["gps"]
    year = academic_year_of(s.cohort, k2["year_group"])
    noise = world.rng("education:ks2-gps").normal(0.0, gps["noise_sd"], len(s))
    z = gps["shift"] + gps["english_weight"] * s.ks2_english_z + noise
    return np.where((year >= gps["first_year"]) & ~s.ks2_new, z, np.nan)


def attainment8(z: np.ndarray) -> np.ndarray:
    """Attainment 8 from the latent score, in half points within its range."""
    k4 = params()["attainment"]["ks4"]
    lo, hi = k4["attainment8_range"]
    return np.clip(np.round(2 * (k4["attainment8_centre"] + k4["attainment8_scale"] * z)) / 2, lo, hi)


# ---------------------------------------------------------------------------------------------------------
# the early years: the Foundation Stage Profile (Reception) and Key Stage 1 (Year 2)
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EarlyYears:
    """The Early Years Foundation Stage Profile and Key Stage 1 of the children in scope (per child, as Schooling)."""

    eyfsp_year: np.ndarray  # int64 academic year of Reception
    eyfsp_sat: np.ndarray  # bool: a profile was recorded
    eyfsp_points: np.ndarray  # int64 [child, scale]: points 0..9 on each scale of `early_years.eyfsp.scales`
    ks1_year: np.ndarray  # int64 academic year of Year 2
    ks1_sat: np.ndarray  # bool: KS1 teacher assessments were recorded
    ks1_level: np.ndarray  # int64 [child, subject]: index into `early_years.ks1.levels` (reading, writing, maths)


def simulate_early_years(world, s: Schooling) -> EarlyYears:
    """The early years of the children of `s`, on a stream of their own, so that the rest of schooling (and the
    calibration that rests on it) does not depend on them. A profile scale's points rise with latent ability and
    fall with the shared risk (the socio-emotional scales more steeply); KS1 levels follow the child's latent KS2
    scores, so that early and later attainment agree."""
    par = params()
    epar, kpar = par["early_years"]["eyfsp"], par["early_years"]["ks1"]
    p = world.people
    rng = world.rng("education:early-years")
    lin = functools.partial(
        linear,
        risk=p.risk[s.person].astype(np.float64),
        dep=deprivation_score(p.deprivation[s.person]),
        male=p.male[s.person],
    )
    n = len(s)
    domains = list(epar["scales"].values())
    base = {d: lin(epar["domains"][d]) + epar["ability_weight"][d] * s.ability for d in dict.fromkeys(domains)}
    latent = np.stack([base[d] for d in domains], axis=1) + rng.normal(0.0, epar["noise_sd"], (n, len(domains)))
    points = np.clip(np.rint(epar["points_centre"] + epar["points_per_unit"] * latent), 0, 9).astype(np.int64)
    eyfsp_year = academic_year_of(s.cohort, 0)
    eyfsp_sat = (
        s.state_school
        & s.in_england[:, 0]
        & (eyfsp_year >= epar["first_year"])
        & (eyfsp_year <= epar["last_year"])
        & (rng.random(n) >= epar["not_assessed"])
    )
    ks1_year = academic_year_of(s.cohort, kpar["year_group"])
    z = np.stack([s.ks2_english_z, s.ks2_english_z, s.ks2_maths_z], axis=1)
    ks1_z = kpar["from_ks2_weight"] * z + rng.normal(0.0, kpar["noise_sd"], z.shape)
    ks1_sat = (
        s.state_school
        & s.in_england[:, s.column(kpar["year_group"])]
        & (ks1_year >= kpar["first_year"])
        & (ks1_year <= kpar["last_year"])
        & (rng.random(n) >= kpar["not_assessed"])
    )
    return EarlyYears(
        eyfsp_year=eyfsp_year,
        eyfsp_sat=eyfsp_sat,
        eyfsp_points=points,
        ks1_year=ks1_year,
        ks1_sat=ks1_sat,
        ks1_level=np.searchsorted(np.asarray(kpar["cuts"]), ks1_z).astype(np.int64),
    )
