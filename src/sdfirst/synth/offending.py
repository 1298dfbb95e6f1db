"""Offending: which people commit which offences, when, and which are dealt with by a caution.

Offences are a Poisson process per person, its rate set by latent risk, sex and an age-crime curve with a
youth and an adult peak. The same offences feed every criminal dataset: court cases, the PNC, prison and
probation all tell one story. Summary motoring offences are a separate, adult process that only reaches the
magistrates' courts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields

import numpy as np

from sdfirst.exceptions import DataFirstError
from sdfirst.specs import code_lists, derived_cache, load_yaml
from sdfirst.synth import dates
from sdfirst.synth.population import broad_groups, history


@dataclass(frozen=True)
class OffenceTable:
    """The offence code list as arrays (row i is offence code index i)."""

    code: np.ndarray
    description: np.ndarray
    group: np.ndarray
    mode: np.ndarray  # indictable, either_way, summary
    severity: np.ndarray
    serious_violence: np.ndarray
    weight: np.ndarray
    motoring: np.ndarray

    def index(self, code: str) -> int:
        return int(np.flatnonzero(self.code == code)[0])


@functools.cache
def offence_table() -> OffenceTable:
    lists = code_lists()
    rows = lists["offences"]["codes"]
    codes = list(rows)
    description, group, mode, severity, serious_violence, weight = (
        np.array(field) for field in zip(*rows.values(), strict=True)
    )
    return OffenceTable(
        code=np.array(codes),
        description=description,
        group=group,
        mode=mode,
        severity=severity.astype(np.int8),
        serious_violence=serious_violence.astype(bool),
        weight=weight.astype(float),
        motoring=np.array([c in lists["motoring_offences"] for c in codes]),
    )


derived_cache(offence_table.cache_clear)


@dataclass(frozen=True)
class Offences:
    """Offences that came to the notice of the police, one row per offender per offence, by person then date."""

    person: np.ndarray  # int64 chunk-local person index
    date: np.ndarray  # int32 offence day
    code: np.ndarray  # int16 index into offence_table()
    recordable: np.ndarray  # bool, False for summary motoring
    cautioned: np.ndarray  # bool, dealt with out of court
    case_group: np.ndarray  # int64: offences with the same value are one case (co-defendants)

    def __len__(self) -> int:
        return len(self.person)


def saturate(rate: np.ndarray, ceiling: float) -> np.ndarray:
    """A rate that grows like `rate` when small and levels off at `ceiling`."""
    return rate / (1.0 + rate / ceiling)


def _age_grid(params: dict) -> tuple[np.ndarray, np.ndarray]:
    """The age-crime curve's cumulative distribution on a monthly grid of ages, from the age of criminal
    responsibility to the oldest age the curve reaches."""
    youngest, oldest = params["ages"]
    ages = np.arange(youngest, oldest + 1e-9, 1 / 12)
    x = ages - (youngest - 1)
    pdf = np.zeros_like(ages)
    for comp in (params["youth"], params["adult"]):
        k, theta = comp["shape"], comp["scale"]
        dens = x ** (k - 1) * np.exp(-x / theta)
        pdf += comp["weight"] * dens / dens.sum()
    cdf = np.concatenate([[0.0], np.cumsum(pdf[:-1])])
    return ages, cdf / cdf[-1] if cdf[-1] > 0 else cdf


def _ages_at(dob: np.ndarray, day: int) -> np.ndarray:
    return (day - dob) / dates.YEAR


def _draw_recordable(world, rng) -> tuple[np.ndarray, np.ndarray]:
    """Persons and dates of recordable offences between 2000 and 2023."""
    p = world.people
    params = load_yaml("justice.yaml")["offending"]
    start, end = history()
    ages, cdf = _age_grid(params["age_curve"])
    youngest, oldest = params["age_curve"]["ages"]
    lo = np.clip(_ages_at(p.dob, start), youngest, oldest)
    hi = np.clip(_ages_at(p.dob, end), youngest, oldest)
    f_lo, f_hi = np.interp(lo, ages, cdf), np.interp(hi, ages, cdf)
    acq = params["acquisitive"]
    rate = np.exp(
        params["log_rate"]
        + params["risk_effect"] * p.risk
        + params["male_effect"] * p.male
        + acq["rate_effect"] * p.acquisitive
    )
    rate = saturate(rate, params["max_rate"])
    # the curve integrates to one over a lifetime; a person's yearly rate times the active years it spans
    # gives their lifetime expectation, of which they are observed for the share f_hi - f_lo
    counts = rng.poisson(rate * params["active_years"] * (f_hi - f_lo))
    person = np.repeat(np.arange(len(p), dtype=np.int64), counts)
    u = f_lo[person] + rng.random(len(person)) * (f_hi - f_lo)[person]
    age = np.interp(u, cdf, ages)
    when = (p.dob[person] + age * dates.YEAR).astype(np.int32)
    return person, np.clip(when, start, end)


def _draw_motoring(world, rng) -> tuple[np.ndarray, np.ndarray]:
    p = world.people
    params = load_yaml("justice.yaml")["offending"]["motoring"]
    a0, a1 = params["ages"]
    first, last = history()
    start = np.maximum(dates.add_years(p.dob, a0), first)
    end = np.minimum(dates.add_years(p.dob, a1), last)
    years = np.maximum(end - start, 0) / dates.YEAR
    rate = np.exp(params["log_rate"] + params["risk_effect"] * p.risk + params["male_effect"] * p.male)
    counts = rng.poisson(saturate(rate, params["max_rate"]) * years)
    person = np.repeat(np.arange(len(p), dtype=np.int64), counts)
    when = start[person] + (rng.random(len(person)) * (end - start)[person]).astype(np.int32)
    return person, when.astype(np.int32)


def _young_violence(spec: dict, youngest: int, age: np.ndarray) -> np.ndarray:
    """The multiplier on serious violence weights at each age: floor at the youngest age, rising to 1 at
    full_from_age."""
    floor, full = spec["floor"], spec["full_from_age"]
    return np.clip(floor + (1 - floor) * (age - youngest) / (full - youngest), floor, 1.0)


def offence_codes(world, rng, person: np.ndarray, when: np.ndarray) -> np.ndarray:
    """An offence code for each recordable offence: the mix depends on sex, risk, the acquisitive trait and age
    (Gumbel-max sampling). The courts draw the other offences charged on a case from the same mix."""
    table = offence_table()
    params = load_yaml("justice.yaml")["offending"]
    recordable = np.flatnonzero(table.weight > 0)
    weight = table.weight * np.where(table.serious_violence, params["serious_violence_weight"], 1.0)
    base = np.log(weight[recordable])
    groups = table.group[recordable]
    female = np.array([np.log(params["female_group_factor"].get(g, 1.0)) for g in groups])
    slope = np.array([params["risk_group_slope"].get(g, 0.0) for g in groups])
    acquisitive = np.array([params["acquisitive"]["group_effect"].get(g, 0.0) for g in groups])
    p = world.people
    youngest = params["age_curve"]["ages"][0]
    logits = (
        base[None, :]
        + (~p.male[person])[:, None] * female[None, :]
        + p.risk[person][:, None] * slope[None, :]
        + p.acquisitive[person][:, None] * acquisitive[None, :]
        + np.log(_young_violence(params["young_violence"], youngest, (when - p.dob[person]) / dates.YEAR))[:, None]
        * table.serious_violence[recordable][None, :]
        + ethnic_mix_logits(groups)[broad_group_of(p.ethnicity[person])]
    )
    gumbel = -np.log(-np.log(rng.random(logits.shape)))
    return recordable[np.argmax(logits + gumbel, axis=1)].astype(np.int16)


class _Members:
    """A chunk's world seen through some of its people: `people` holds only them, everything else is the world's.
    Lets a process drawn per person (:func:`_draw_recordable`) be drawn again for a subset, whatever it reads."""

    def __init__(self, world, members: np.ndarray):
        self._world = world
        whole = world.people
        self.people = type(whole)(**{f.name: getattr(whole, f.name)[members] for f in fields(whole)})

    def __getattr__(self, name: str):
        return getattr(self._world, name)


def with_recorded_rate_ratios(world, person: np.ndarray, when: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Recorded offences with each broad ethnic group's rate multiplied by justice.yaml
    `ethnic_groups.recorded_rate_ratio` (1 for a group not named; at least 1).

    Recorded offending differs by group (arrest rates per 1,000 people do, partly through policing); a ratio r is
    made by drawing the group's recordable offences again, whole for each unit of r - 1 and thinned for its
    fraction, and adding them: independent Poisson processes of the same intensity sum to one of r times it. So the
    offences keep the age curve and every other term of :func:`_draw_recordable`, whatever those become. The
    extra draws come from a stream of their own.
    """
    ratios = load_yaml("justice.yaml").get("ethnic_groups", {}).get("recorded_rate_ratio", {})
    names, _ = broad_groups()
    group = broad_group_of(world.people.ethnicity)
    rng = world.rng("offending_ethnic_groups")
    persons, whens = [person], [when]
    for g, name in enumerate(names):
        extra = ratios.get(name, 1.0) - 1.0
        members = np.flatnonzero(group == g)
        while extra > 1e-12 and len(members):
            extra_person, extra_when = _draw_recordable(_Members(world, members), rng)
            keep = rng.random(len(extra_person)) < min(extra, 1.0)
            persons.append(members[extra_person[keep]])
            whens.append(extra_when[keep])
            extra -= 1.0
    return np.concatenate(persons), np.concatenate(whens)


def broad_group_of(ethnicity: np.ndarray) -> np.ndarray:
    """The broad ethnic group (an index into :func:`sdfirst.synth.population.broad_groups`) of ethnicity codes."""
    return broad_groups()[1][ethnicity]


def ethnic_mix_logits(offence_groups: np.ndarray) -> np.ndarray:
    """Log-multipliers of each broad ethnic group (rows) on the weight of each offence (columns, whose groups are
    `offence_groups`): justice.yaml `ethnic_groups.offence_group_factor`, 1 where a group is not named. They shift
    a group's offence mix, not how often its members offend."""
    factors = load_yaml("justice.yaml").get("ethnic_groups", {}).get("offence_group_factor", {})
    names, _ = broad_groups()
    return np.array([[np.log(factors.get(name, {}).get(g, 1.0)) for g in offence_groups] for name in names])


def _motoring_codes(rng, n: int) -> np.ndarray:
    table = offence_table()
    weights = code_lists()["motoring_offences"]
    idx = np.array([table.index(c) for c in weights])
    w = np.array(list(weights.values()), dtype=float)
    return idx[rng.choice(len(idx), size=n, p=w / w.sum())].astype(np.int16)


def _cautions(world, rng, person, when, code) -> np.ndarray:
    """Whether each recordable offence ends in a caution: more often for the young and the first time."""
    params = load_yaml("justice.yaml")["offending"]["caution"]
    table = offence_table()
    youth = (when - world.people.dob[person]) / dates.YEAR < params["youth_under_age"]
    first = np.r_[True, person[1:] != person[:-1]]
    p = np.where(
        youth,
        np.where(first, params["youth_first"], params["youth_repeat"]),
        np.where(first, params["adult_first"], params["adult_repeat"]),
    )
    p = np.where(table.severity[code] > params["max_severity"], 0.0, p)
    return rng.random(len(person)) < p


def _group_sizes(rng, spec: dict, n: int) -> np.ndarray:
    """How many people commit each group offence: sizes from 2 up, drawn with the spec's relative weights."""
    weights = np.asarray(spec["size_weights"], dtype=float)
    return 2 + rng.choice(len(weights), size=n, p=weights / weights.sum())


def _group_leads(world, rng, spec: dict, person, when, code, prosecuted) -> np.ndarray:
    """The prosecuted offences committed with others: a chance by offence group, falling with the lead's age."""
    table = offence_table()
    unknown = sorted(set(spec["probability"]) - set(table.group))
    if unknown:
        raise DataFirstError(f"justice.yaml: offending.co_defendant.probability names no offence group: {unknown[0]}")
    p = world.people
    base = np.array([spec["probability"].get(g, 0.0) for g in table.group])[code]
    age = _ages_at(p.dob[person], when)
    odds = base / (1.0 - base) * np.exp(spec["age_slope"] * (age - spec["reference_age"]))
    chance = np.where(prosecuted, odds / (1.0 + odds), 0.0)
    return np.flatnonzero(rng.random(len(person)) < chance)


def _choose_members(
    world, rng, spec: dict, pool: np.ndarray, lead_person: np.ndarray, lead_when: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The other members of each group: of `candidates` offenders of the chunk (`pool`) drawn at random per group,
    the most plausible (near the lead's age, in the lead's region at the time, male) by a weighted draw without
    replacement (Gumbel top-k), so groups are mostly young men of one age and place, as co-offending groups are.
    Returns the group (index into the leads) and the person of each member."""
    p = world.people
    n, m = len(lead_person), int(spec["candidates"])
    if n == 0 or len(pool) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cand = pool[rng.integers(0, len(pool), (n, m))]
    when = np.repeat(lead_when, m)
    flat = cand.ravel()
    region = world.hoods.region
    cand_region = region[p.addr_sector[flat, p.address_index(flat, when)]].reshape(n, m)
    lead_region = region[p.addr_sector[lead_person, p.address_index(lead_person, lead_when)]]
    cand_age = _ages_at(p.dob[cand], lead_when[:, None])
    lead_age = _ages_at(p.dob[lead_person], lead_when)
    score = (
        -0.5 * ((cand_age - lead_age[:, None]) / spec["age_sd_years"]) ** 2
        + spec["same_region_log_weight"] * (cand_region == lead_region[:, None])
        + spec["male_log_weight"] * p.male[cand]
    )
    ordered = np.sort(cand, axis=1)
    repeat = np.zeros_like(cand, dtype=bool)
    repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    valid = (cand != lead_person[:, None]) & (cand_age >= spec["min_age"])
    gumbel = -np.log(-np.log(rng.random((n, m))))
    # duplicates of a candidate are dropped after sorting, so scores are sorted the same way
    order = np.argsort(cand, axis=1, kind="stable")
    cand = np.take_along_axis(cand, order, axis=1)
    key = np.take_along_axis(np.where(valid, score + gumbel, -np.inf), order, axis=1)
    key[repeat] = -np.inf
    rank = np.argsort(-key, axis=1, kind="stable")
    take = np.arange(m)[None, :] < (sizes - 1)[:, None]
    chosen = np.take_along_axis(cand, rank, axis=1)
    ok = take & np.isfinite(np.take_along_axis(key, rank, axis=1))
    lead = np.repeat(np.arange(n, dtype=np.int64), m).reshape(n, m)
    return lead[ok], chosen[ok]


def _co_defendants(world, rng, person, when, code, prosecuted):
    """Group offences: some prosecuted offences were committed with others of the chunk (co-defendants)."""
    spec = load_yaml("justice.yaml")["offending"]["co_defendant"]
    lead = _group_leads(world, rng, spec, person, when, code, prosecuted)
    sizes = _group_sizes(rng, spec, len(lead))
    pool = np.unique(person)
    which, partner = _choose_members(world, rng, spec, pool, person[lead], when[lead], sizes)
    return lead[which], partner


def simulate_offences(world) -> Offences:
    """Every offence of the chunk's people, 2000-2023, with cautions and co-defendants decided."""
    rng = world.rng("offending")
    r_person, r_when = _draw_recordable(world, rng)
    r_person, r_when = with_recorded_rate_ratios(world, r_person, r_when)
    m_person, m_when = _draw_motoring(world, rng)
    r_code = offence_codes(world, rng, r_person, r_when)
    m_code = _motoring_codes(rng, len(m_person))
    person = np.concatenate([r_person, m_person])
    when = np.concatenate([r_when, m_when])
    code = np.concatenate([r_code, m_code])
    recordable = np.concatenate([np.ones(len(r_person), bool), np.zeros(len(m_person), bool)])
    order = np.lexsort((code, when, person))
    person, when, code, recordable = person[order], when[order], code[order], recordable[order]
    cautioned = recordable & _cautions(world, rng, person, when, code)
    lead, partner = _co_defendants(world, rng, person, when, code, ~cautioned)
    group = np.arange(len(person), dtype=np.int64)
    person = np.concatenate([person, partner])
    when = np.concatenate([when, when[lead]])
    code = np.concatenate([code, code[lead]])
    recordable = np.concatenate([recordable, recordable[lead]])
    cautioned = np.concatenate([cautioned, np.zeros(len(lead), bool)])
    group = np.concatenate([group, group[lead]])
    order = np.lexsort((group, when, person))
    return Offences(
        person=person[order],
        date=when[order],
        code=code[order],
        recordable=recordable[order],
        cautioned=cautioned[order],
        case_group=group[order],
    )
