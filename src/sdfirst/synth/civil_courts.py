"""Civil courts: the claims of CaseMan and Possession Claim Online, their parties, events and courts.

Claims arise as Poisson processes over each adult's years in the coverage, with the defendant as the index
party: the chance of being sued rises with latent risk and with deprivation, so many defendants are also in
the criminal datasets. Claimants are mostly companies (a few bulk claimants issue most claims), defendants
mostly people; company parties have no true person (person -1) and a registered office of their own. Each
claim plays its type's chain of events and is issued at the local county court or a national bulk centre.
Every rate, amount and event sequence is in `synthetic/family_civil.yaml`; the machinery shared with the
family courts is `sdfirst.synth.parties`. `simulate_civil_courts` returns a `CivilCourts`, which
`tables/civil.py` maps to columns.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from sdfirst.synth import dates
from sdfirst.synth.ids import id_key, mix64
from sdfirst.synth.parties import (
    Chain,
    adult_age,
    adult_latest,
    candidates,
    coverage,
    draw_index,
    in_issue_order,
    match,
    params,
    partners,
    play_chains,
    sector_of,
)
from sdfirst.synth.pools import company_names
from sdfirst.synth.rng import rng_global
from sdfirst.synth.world import Window, World

DATASET = "civil"


@dataclass(frozen=True)
class Claims:
    """Claims as parallel arrays, with their party rows (person -1 for a company, company -1 for a person)."""

    claim_type: np.ndarray
    issue: np.ndarray
    sector: np.ndarray  # postcode sector of the lead defendant (a company's registered office)
    amount: np.ndarray
    system: np.ndarray
    central: np.ndarray  # issued at a national bulk centre rather than the local court
    p_case: np.ndarray
    p_person: np.ndarray
    p_company: np.ndarray
    p_role: np.ndarray

    @staticmethod
    def concat(parts: list[Claims]) -> Claims:
        offsets = np.cumsum([0] + [len(c.issue) for c in parts])
        fields = {k: np.concatenate([getattr(c, k) for c in parts]) for k in Claims.__dataclass_fields__}
        fields["p_case"] = np.concatenate([c.p_case + o for c, o in zip(parts, offsets[:-1], strict=True)])
        return Claims(**fields)


@dataclass(frozen=True)
class CompanyPool:
    """The run's company names with a fixed popularity order, so a few bulk claimants dominate."""

    names: pa.Array
    by_rank: np.ndarray  # pool index of the company of each popularity rank

    def draw(self, rng: np.random.Generator, n: int, ranks: list[int], exponent: float) -> np.ndarray:
        """n companies from popularity ranks [start, stop) with Zipf weights."""
        lo, hi = min(ranks[0], len(self.by_rank) - 1), min(ranks[1], len(self.by_rank))
        cum = np.cumsum(1.0 / np.arange(1, max(hi - lo, 1) + 1) ** exponent)
        pick = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
        return self.by_rank[lo + np.minimum(pick, max(hi - lo, 1) - 1)]


def company_pool(world: World) -> CompanyPool:
    names = company_names(world.seed)
    return CompanyPool(names, rng_global(world.seed, "civil-company-ranks").permutation(len(names)))


def _weighted_index(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    """n draws of a position in the dict, with the dict's values as weights."""
    w = np.array(list(weights.values()), dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _weighted(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    return np.array(list(weights), dtype=object)[_weighted_index(rng, weights, n)]


def _claim_type(world: World, pool: CompanyPool, name: str, spec: dict[str, Any], window: Window) -> Claims:
    """Claims of one type: person defendants by the Poisson process, plus claims against companies."""
    rng = world.rng(f"civil:cases:{name}")
    role = params()[DATASET]["roles"]
    person, issue = draw_index(world, rng, window, spec["index"])
    share = spec["company_defendant_share"]
    n_co = int(rng.poisson(len(person) * share / (1.0 - share))) if share < 1 else 0
    span = max(window.end - window.start + 1, 0)
    co_issue = (window.start + np.floor(rng.random(n_co) * span)).astype(np.int32)
    n_person, n = len(person), len(person) + n_co
    issue = np.r_[issue, co_issue].astype(np.int32)
    case = np.arange(n)
    companies = params()[DATASET]["company_defendants"]
    defendant_company = pool.draw(rng, n_co, companies["companies"], companies["zipf_exponent"])
    sector = np.r_[sector_of(world, person, issue[:n_person]), company_sectors(world, defendant_company)]
    second = _second_defendant(world, rng, spec, person, issue[:n_person])
    claimant_person, claimant_company = _claimants(world, rng, pool, spec["claimant"], issue)
    amount = np.round(spec["amount"]["median"] * np.exp(rng.normal(0.0, spec["amount"]["sigma"], n)), 2)
    rows = [
        (case[:n_person], person, -1, role["defendant"]),
        (case[n_person:], -1, defendant_company, role["defendant"]),
        (case[:n_person][second >= 0], second[second >= 0], -1, role["defendant"]),
        (case, claimant_person, claimant_company, role["claimant"]),
    ]
    p_case = np.concatenate([r[0] for r in rows]).astype(np.int64)
    full = [np.broadcast_to(np.asarray(r[k], dtype=np.int64), len(r[0])) for r in rows for k in (1, 2)]
    return Claims(
        claim_type=np.full(n, name, dtype=object),
        issue=issue,
        sector=sector,
        amount=amount,
        system=_weighted(rng, spec["issuing_system"], n),
        central=rng.random(n) < spec["central_share"],
        p_case=p_case,
        p_person=np.concatenate(full[0::2]),
        p_company=np.concatenate(full[1::2]),
        p_role=np.concatenate([np.full(len(r[0]), r[3], dtype=object) for r in rows]),
    )


def _second_defendant(
    world: World, rng: np.random.Generator, spec: dict[str, Any], person: np.ndarray, issue: np.ndarray
) -> np.ndarray:
    """A joint defendant for some claims (a partner or joint tenant of about the same age), -1 for none."""
    joint = rng.random(len(person)) < spec["second_defendant_share"]
    oldest = params()[DATASET]["joint_defendant_max_age"]
    return partners(world, rng, person, issue, joint, oldest, spec["index"]["beta_risk"])


def _claimants(
    world: World, rng: np.random.Generator, pool: CompanyPool, spec: dict[str, Any], issue: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The claimant of each claim: a company, or an adult (a private landlord, an injured person)."""
    n = len(issue)
    is_person = rng.random(n) >= spec["company_share"]
    rows = np.flatnonzero(is_person)
    ages = params()[DATASET]["person_claimant"]
    target = dates.add_years(issue[rows], -rng.uniform(*ages["age"], len(rows)))
    who = np.full(n, -1, dtype=np.int64)
    who[rows] = match(
        world,
        rng,
        candidates(world),
        target,
        dates.add_years(issue[rows], -ages["max_age"]),
        adult_latest(issue[rows]),
        spec["person_beta_risk"],
    )
    company = np.where(who < 0, pool.draw(rng, n, spec["companies"], spec["zipf_exponent"]), -1)
    return who, company


@dataclass(frozen=True)
class CivilCourts:
    """The civil claims of one chunk: claims in issue order with their parties, their events and their courts."""

    claims: Claims
    events: Chain  # rows sorted by claim
    central_court: np.ndarray  # index into central_courts of each centrally issued claim, -1 for a local court
    central_courts: tuple[str, ...]  # the national bulk centres
    companies: CompanyPool  # the run's companies, which `Claims.p_company` indexes
    window: Window  # the dataset's coverage within the run's years


def simulate_civil_courts(world: World) -> CivilCourts:
    """Every civil claim of the chunk, its parties, its events and the court that issued it."""
    window = coverage(world, DATASET)
    cfg = params()[DATASET]
    pool = company_pool(world)
    claims = simulate_claims(world, pool, cfg, window)
    events = play_chains(
        world.rng("civil:events"), cfg["claim_types"], cfg["event_chains"], claims.claim_type, claims.issue
    )
    central = _weighted_index(world.rng("civil:courts"), cfg["central_courts"], len(claims.issue))
    return CivilCourts(
        claims=claims,
        events=events,
        central_court=np.where(claims.central, central, -1),
        central_courts=tuple(cfg["central_courts"]),
        companies=pool,
        window=window,
    )


def simulate_claims(world: World, pool: CompanyPool, cfg: dict[str, Any], window: Window) -> Claims:
    """All civil claims of the chunk with their parties; people must be adults and hold one role per claim."""
    types = cfg["claim_types"]
    claims = Claims.concat([_claim_type(world, pool, name, spec, window) for name, spec in types.items()])
    person = claims.p_person
    rows = np.flatnonzero(person >= 0)
    adult = np.ones(len(person), dtype=bool)
    adult[rows] = dates.age_on(world.people.dob[person[rows]], claims.issue[claims.p_case[rows]]) >= adult_age()
    # one row per (case, person); company rows are never duplicates (each gets its own negative key)
    key = np.where(person >= 0, person, -1 - np.arange(len(person)))
    lowest = key.min(initial=0)
    pair = claims.p_case * (key.max(initial=0) - lowest + 1) + (key - lowest)
    first = np.unique(pair, return_index=True)[1]
    keep = np.zeros(len(person), dtype=bool)
    keep[first] = True
    keep = np.flatnonzero(keep & adult)
    keep = keep[np.lexsort((keep, claims.p_case[keep]))]
    parties = {name: getattr(claims, name)[keep] for name in ("p_case", "p_person", "p_company", "p_role")}
    return in_issue_order(dataclasses.replace(claims, **parties), world.rng("civil:order"))


def _company_address_hash(world: World, company: np.ndarray) -> np.ndarray:
    return mix64(np.asarray(company, dtype=np.uint64) ^ id_key(world.seed, "civil.company-address"))


def company_sectors(world: World, company: np.ndarray) -> np.ndarray:
    """A fixed registered-office postcode sector per company, the same in every chunk."""
    return (_company_address_hash(world, company) % np.uint64(len(world.hoods.imd_decile))).astype(np.int64)


def company_offices(world: World, company: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The registered office of each company, as (postcode sector, unit) for `world.hoods.postcodes`."""
    h = _company_address_hash(world, company)
    unit = ((h >> np.uint64(32)) % np.uint64(len(world.hoods.units))).astype(np.int64)
    return company_sectors(world, company), unit
