"""The synthetic people of one chunk: who they are, what they are called, where they live, and their risk.

Everything downstream (offending, courts, prison, probation, schools, family and civil courts) reads these
arrays. Records never copy a person's details directly: each dataset records them through
:mod:`sdfirst.synth.recording`, with its own errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdfirst.exceptions import DataFirstError
from sdfirst.specs import code_lists, load_yaml
from sdfirst.synth import dates
from sdfirst.synth.pools import NamePools, Neighbourhoods
from sdfirst.synth.rng import rng_for


def history() -> tuple[int, int]:
    """The first and last day of the simulated world (population.yaml `history`): addresses, surname changes and
    offences happen between them, and every dataset's coverage lies inside."""
    span = load_yaml("population.yaml")["history"]
    return dates.day(span["start"]), dates.day(span["end"])


@dataclass(frozen=True)
class People:
    """One chunk of people as parallel arrays (index i is the same person in every array)."""

    person_id: np.ndarray  # int64, unique across chunks
    male: np.ndarray  # bool
    dob: np.ndarray  # int32 days
    ethnicity: np.ndarray  # int8 index into ETHNICITY_CODES
    risk: np.ndarray  # float32 latent risk, standard normal
    acquisitive: np.ndarray  # float32 propensity to acquisitive crime, standard normal, independent of risk
    forename: np.ndarray  # int64 index into the forename table
    middle: np.ndarray  # int64, -1 for none
    surname: np.ndarray  # surname at birth
    new_surname: np.ndarray  # surname after a change, -1 for none
    surname_changed: np.ndarray  # int32 day of the change, NEVER for none
    alias_forename: np.ndarray
    alias_surname: np.ndarray
    deprivation: np.ndarray  # int8 decile of the first address, 1 = most deprived
    addr_start: np.ndarray  # int32 [n, K] first day at each address, NEVER when unused
    addr_sector: np.ndarray  # int32 [n, K] neighbourhood index
    addr_unit: np.ndarray  # int16 [n, K] the last two letters of the postcode

    def __len__(self) -> int:
        return len(self.person_id)

    def address_index(self, person: np.ndarray, when: np.ndarray) -> np.ndarray:
        """Which address slot each person lived at on each date (the first one before their history starts)."""
        starts = self.addr_start[person]
        k = (starts <= when[:, None]).sum(axis=1) - 1
        return np.maximum(k, 0)

    def surname_on(self, person: np.ndarray, when: np.ndarray) -> np.ndarray:
        """The surname a person used on a date."""
        changed = (self.new_surname[person] >= 0) & (self.surname_changed[person] <= when)
        return np.where(changed, self.new_surname[person], self.surname[person])


def ethnicity_table() -> tuple[list[str], np.ndarray, list[str], list[str]]:
    """Codes, shares, broad groups and name pools of the 18 ethnic groups."""
    codes = code_lists()["ethnicity"]["codes"]
    keys = list(codes)
    shares = np.array([codes[k][2] for k in keys], dtype=float)
    return keys, shares / shares.sum(), [codes[k][1] for k in keys], [codes[k][3] for k in keys]


def _birth_dates(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The two uniforms behind each person's date of birth (birth year, day in the year), drawn before ethnicity so
    that the stream is used as it always was; :func:`birth_dates` turns them into days once the group is known."""
    return rng.random(n), rng.random(n)


def birth_year_weights(broad: list[str]) -> np.ndarray:
    """Relative weight of every birth year for each broad ethnic group (rows in the order of `broad`).

    The population's age structure (population.yaml `people.birth_years`) times the group's factor for each band
    (`people.birth_years_by_group`; 1 for a group or band not named), so that minority groups are younger, as in the
    2011 Census, while the population's ethnic shares stay those of code_lists.yaml.
    """
    people = load_yaml("population.yaml")["people"]
    bands = people["birth_years"]
    by_group = people.get("birth_years_by_group", {})
    rows = []
    for group in broad:
        factors = by_group.get(group, [1.0] * len(bands))
        if len(factors) != len(bands):
            raise DataFirstError(
                f"population.yaml: people.birth_years_by_group.{group} has {len(factors)} factors, "
                f"one for each of the {len(bands)} birth_years bands is needed"
            )
        rows.append(np.concatenate([np.full(b - a + 1, w * f) for (a, b, w), f in zip(bands, factors, strict=True)]))
    return np.array(rows)


def birth_dates(u_year: np.ndarray, u_day: np.ndarray, group: np.ndarray, broad: list[str]) -> np.ndarray:
    """Days of birth from the uniforms of :func:`_birth_dates`, each person's year drawn from their broad group's
    birth-year weights (`group` indexes `broad`)."""
    bands = load_yaml("population.yaml")["people"]["birth_years"]
    years = np.concatenate([np.arange(a, b + 1) for a, b, _ in bands])
    weights = birth_year_weights(broad)
    cdf = np.cumsum(weights, axis=1)
    cdf /= cdf[:, -1:]
    year = np.empty(len(u_year), dtype=np.int64)
    for g in range(len(broad)):
        rows = np.flatnonzero(group == g)
        year[rows] = years[np.searchsorted(cdf[g], u_year[rows], side="right")]
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int32)
    length = np.where((year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0)), 366, 365)
    return (start + (u_day * length).astype(np.int32)).astype(np.int32)


def broad_groups() -> tuple[list[str], np.ndarray]:
    """The broad ethnic groups (in code-list order of first appearance) and each of the 18 codes' group index."""
    _, _, broad, _ = ethnicity_table()
    groups = list(dict.fromkeys(broad))
    return groups, np.array([groups.index(b) for b in broad], dtype=np.int8)


def _names(rng, pools: NamePools, male, eth_pool, n):
    forename = np.empty(n, dtype=np.int64)
    middle = np.empty(n, dtype=np.int64)
    surname = np.empty(n, dtype=np.int64)
    alias_f = np.empty(n, dtype=np.int64)
    alias_s = np.empty(n, dtype=np.int64)
    groups, group_of = np.unique(eth_pool, return_inverse=True)  # compare small integers, not strings
    for g, group in enumerate(groups):
        in_group = group_of == g
        for is_male, table in ((True, pools.first_male), (False, pools.first_female)):
            rows = np.flatnonzero(in_group & (male == is_male))
            forename[rows] = table[group].draw(rng, len(rows))
            middle[rows] = table[group].draw(rng, len(rows))
            alias_f[rows] = table[group].draw(rng, len(rows))
        rows = np.flatnonzero(in_group)
        surname[rows] = pools.surname[group].draw(rng, len(rows))
        alias_s[rows] = pools.surname[group].draw(rng, len(rows))
    share_middle = load_yaml("population.yaml")["names"]["share_with_middle_name"]
    middle[(rng.random(n) >= share_middle) | (middle == forename)] = -1
    return forename, middle, surname, alias_f, alias_s


def _surname_changes(rng, pools: NamePools, male, dob, eth_pool, n):
    params = load_yaml("population.yaml")["names"]["surname_change"]
    p = np.where(male, params["male"], params["female"])
    lo, hi = params["age_range"]
    when = dates.add_years(dob, rng.uniform(lo, hi, n))
    change = (rng.random(n) < p) & (when <= history()[1])
    new = np.full(n, -1, dtype=np.int64)
    groups = np.array(sorted(pools.surname))
    # a new surname often comes from one pool whatever the person's own (marriage across groups is common)
    take_common = rng.random(n) < params["common_pool_share"]
    pool_of = np.where(take_common, params["common_pool"], eth_pool)
    for group in groups:
        rows = np.flatnonzero(change & (pool_of == group))
        new[rows] = pools.surname[group].draw(rng, len(rows))
    return new, np.where(change, when, dates.NEVER).astype(np.int32)


def _addresses(rng, hoods: Neighbourhoods, risk, dob, ethnicity_minority, n):
    params = load_yaml("population.yaml")["addresses"]
    k_max = int(params["max_addresses"])
    moves = rng.poisson(params["moves_mean"] * np.exp(params["moves_on_risk"] * risk))
    moves = np.minimum(moves, k_max - 1)
    start, end = history()
    first_day = np.maximum(dob, start)
    span = np.maximum(end - first_day, 1)
    offsets = np.sort(rng.random((n, k_max - 1)), axis=1) * span[:, None]
    starts = np.full((n, k_max), dates.NEVER, dtype=np.int32)
    starts[:, 0] = dob
    used = np.arange(k_max - 1)[None, :] < moves[:, None]
    starts[:, 1:] = np.where(used, first_day[:, None] + offsets.astype(np.int32), dates.NEVER)
    # deprivation: a noisy, rank-preserving function of risk, in deciles
    rho = load_yaml("population.yaml")["people"]["deprivation_on_risk"]
    score = rho * risk + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    decile = np.clip(np.ceil(_norm_cdf(score) * 10), 1, 10).astype(np.int8)
    # region: minority groups weighted towards some regions
    weights = np.tile(hoods.region_weight, (2, 1))
    for name, factor in params["minority_region_weights"].items():
        weights[1, hoods.regions.index(name)] *= factor
    weights /= weights.sum(axis=1, keepdims=True)
    cum = np.cumsum(weights, axis=1)
    pick = rng.random(n)
    region = np.where(ethnicity_minority, _inverse_cdf(cum[1], pick), _inverse_cdf(cum[0], pick))
    region = np.minimum(region, len(hoods.regions) - 1)
    sectors = np.empty((n, k_max), dtype=np.int32)
    for k in range(k_max):
        if k > 0:
            stay = rng.random(n) < params["move_within_region"]
            other = np.minimum(_inverse_cdf(cum[0], rng.random(n)), len(hoods.regions) - 1)
            region = np.where(stay, region, other)
            # moves drift deprivation by at most decile_drift deciles
            drift = params["decile_drift"]
            decile = np.clip(decile + rng.integers(-drift, drift + 1, n), 1, 10).astype(np.int8)
        count = hoods.group_count[region, decile - 1]
        start = hoods.group_start[region, decile - 1]
        fallback = count == 0
        sectors[:, k] = np.where(
            fallback,
            rng.integers(0, len(hoods.imd_decile), n),
            start + (rng.random(n) * count).astype(np.int64),
        )
    units = rng.integers(0, len(hoods.units), size=(n, k_max)).astype(np.int16)
    first_decile = hoods.imd_decile[sectors[:, 0]].astype(np.int8)
    return starts, sectors, units, first_decile


def _inverse_cdf(cumulative: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The category of each uniform draw: how many cumulative weights lie below it."""
    return np.searchsorted(cumulative, u, side="left")


def _norm_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF without scipy (Abramowitz and Stegun 7.1.26, accurate to 1e-7)."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x) / np.sqrt(2))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1 - poly * np.exp(-(x**2) / 2)
    return 0.5 * (1 + np.sign(x) * erf)


def make_people(seed: int, chunk: int, first_id: int, n: int, pools: NamePools, hoods: Neighbourhoods) -> People:
    """Simulate n people: sex, birth, ethnicity, names, latent risk and an address history."""
    rng = rng_for(seed, chunk, "population")
    params = load_yaml("population.yaml")["people"]
    male = rng.random(n) < params["share_male"]
    u_year, u_day = _birth_dates(rng, n)
    keys, shares, _broad, name_pool = ethnicity_table()
    ethnicity = rng.choice(len(keys), size=n, p=shares).astype(np.int8)
    groups, group_of_code = broad_groups()
    dob = birth_dates(u_year, u_day, group_of_code[ethnicity], groups)
    eth_pool = np.array(name_pool)[ethnicity]
    risk = rng.standard_normal(n).astype(np.float32)
    acquisitive = rng.standard_normal(n).astype(np.float32)
    forename, middle, surname, alias_f, alias_s = _names(rng, pools, male, eth_pool, n)
    new_surname, changed = _surname_changes(rng, pools, male, dob, eth_pool, n)
    minority = ethnicity != keys.index("W1")
    starts, sectors, units, decile = _addresses(rng, hoods, risk, dob, minority, n)
    return People(
        person_id=np.arange(first_id, first_id + n, dtype=np.int64),
        male=male,
        dob=dob,
        ethnicity=ethnicity,
        risk=risk,
        acquisitive=acquisitive,
        forename=forename,
        middle=middle,
        surname=surname,
        new_surname=new_surname,
        surname_changed=changed,
        alias_forename=alias_f,
        alias_surname=alias_s,
        deprivation=decile,
        addr_start=starts,
        addr_sector=sectors,
        addr_unit=units,
    )
