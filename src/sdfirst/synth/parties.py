"""The party and event-chain engine that the family and civil courts share.

Both courts draw their cases the same way: an index party (a petitioner, a respondent, a child, a defendant)
has cases at a rate per person-year of eligible exposure, the other parties (partners, parents, joint
defendants) are other people of the chunk found by date of birth, and each case plays a chain of events
(applications, hearings, orders, judgments) written in `synthetic/family_civil.yaml`. This module holds that
machinery and nothing of either court: `family_courts` and `civil_courts` call it with their own specs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.columns import labels
from sdfirst.synth.world import Window, World

PARAMS = "family_civil.yaml"
T = TypeVar("T")


def params() -> dict[str, Any]:
    """The whole family and civil parameter file (read at use time, so that overrides reach it)."""
    return load_yaml(PARAMS)


def coverage(world: World, dataset: str) -> Window:
    """The dataset's coverage (from its spec) narrowed to the run's window."""
    cov = load_yaml(f"datasets/{dataset}.yaml")["coverage"]
    return world.coverage(str(cov["start"]), str(cov["end"]))


def adult_age() -> int:
    """The age from which a person is an adult (and no longer a child party)."""
    return int(params()["adult_age"])


def adult_days() -> int:
    """At least `adult_age` calendar years in days: 365 a year and the most leap days so many years can hold
    (6,575 for 18)."""
    years = adult_age()
    return years * 365 + -(-years // 4)


def rate_multiplier(world: World, index: dict[str, Any]) -> np.ndarray:
    """Each person's relative rate: risk, deprivation and sex, averaging 1 over the chunk.

    Normalising keeps `rate_per_1000` the average rate, whatever the betas, so that volumes stay calibrated
    when the skew towards high-risk people is changed.
    """
    p, dep = world.people, params()["deprivation"]
    deprivation = (dep["centre"] - p.deprivation.astype(float)) / dep["scale"]
    score = index["beta_risk"] * p.risk.astype(float) + index["beta_deprivation"] * deprivation
    female = index["female_share"]
    mult = np.exp(score) * np.where(p.male, 1.0 - female, female) * 2.0
    return mult / mult.mean() if len(mult) else mult


def draw_index(world: World, rng: np.random.Generator, window: Window, index: dict[str, Any]) -> tuple:
    """Index parties and issue days of one case type: a Poisson process over each person's eligible years.

    A person is eligible while aged within `index.age` = [lo, hi) in completed years, inside the window;
    bounds are kept a day or two inside so that calendar-year ages always hold.
    """
    p = world.people
    lo_age, hi_age = index["age"]
    # add_years counts 365.25-day years; a day more makes the age in calendar years certain
    first = dates.add_years(p.dob, lo_age) + (1 if lo_age > 0 else 0)
    first = np.maximum(window.start, np.maximum(first, p.dob))
    last = np.minimum(window.end, dates.add_years(p.dob, hi_age) - 2)
    span = np.maximum(last.astype(np.int64) - first + 1, 0)
    lam = index["rate_per_1000"] / 1000.0 * rate_multiplier(world, index) * span / 365.25
    counts = rng.poisson(lam)
    person = np.repeat(np.arange(len(p), dtype=np.int64), counts)
    issue = (first[person] + np.floor(rng.random(len(person)) * span[person])).astype(np.int32)
    return person, issue


@dataclass(frozen=True)
class Candidates:
    """People of one sex (or all) sorted by date of birth, to find people of a given age quickly."""

    person: np.ndarray
    dob: np.ndarray


def candidates(world: World, male: bool | None = None) -> Candidates:
    """The chunk's people (of one sex, or all) by date of birth; sorted once per chunk, as family and civil
    cases ask for them dozens of times."""
    return world.memo(("candidates", male), lambda: _by_birth(world, male))


def _by_birth(world: World, male: bool | None) -> Candidates:
    p = world.people
    pool = np.arange(len(p), dtype=np.int64) if male is None else np.flatnonzero(p.male == male)
    order = np.argsort(p.dob[pool], kind="stable")
    return Candidates(pool[order], p.dob[pool][order])


def match(
    world: World,
    rng: np.random.Generator,
    cands: Candidates,
    target: np.ndarray,
    earliest: np.ndarray,
    latest: np.ndarray,
    beta_risk: float,
) -> np.ndarray:
    """For each target date of birth, a person born near it (within [earliest, latest]), -1 if none.

    Among the `match_window` people nearest in date of birth, one is taken with probability proportional to
    exp(beta_risk * risk) (Gumbel-max), which is how partners and parents skew to high or low risk.
    """
    n, k = len(target), int(params()["match_window"])
    if n == 0 or len(cands.person) == 0:
        return np.full(n, -1, dtype=np.int64)
    pos = np.searchsorted(cands.dob, target)
    window = np.clip(pos[:, None] + (np.arange(k) - k // 2)[None, :], 0, len(cands.person) - 1)
    who, born = cands.person[window], cands.dob[window]
    ok = (born >= earliest[:, None]) & (born <= latest[:, None])
    score = beta_risk * world.people.risk[who].astype(float) + rng.gumbel(size=window.shape)
    score[~ok] = -np.inf
    best = np.argmax(score, axis=1)
    rows = np.arange(n)
    return np.where(ok[rows, best], who[rows, best], -1)


def gap_dob(rng: np.random.Generator, base: np.ndarray, mean: float | np.ndarray, sd: float) -> np.ndarray:
    """A target date of birth `mean` +- `sd` years before `base` (an age gap, positive = older)."""
    return dates.add_years(base, -rng.normal(mean, sd, len(base)))


def adult_latest(issue: np.ndarray) -> np.ndarray:
    """Latest date of birth of an adult (see adult_days) on the issue day."""
    return (issue.astype(np.int64) - adult_days()).astype(np.int32)


def partners(
    world: World,
    rng: np.random.Generator,
    person: np.ndarray,
    issue: np.ndarray,
    joint: np.ndarray,
    oldest: float,
    beta_risk: float,
) -> np.ndarray:
    """A partner (the other sex, about the same age, at most `oldest` years old) for each person where `joint`;
    -1 elsewhere. Joint adopters and joint defendants are found the same way (`joint_party_age_gap`)."""
    p, gap = world.people, params()["joint_party_age_gap"]
    second = np.full(len(person), -1, dtype=np.int64)
    known = np.maximum(person, 0)
    for male in (True, False):
        rows = np.flatnonzero(joint & (p.male[known] != male))
        target = gap_dob(rng, p.dob[known[rows]], gap["mean"], gap["sd"])
        second[rows] = match(
            world,
            rng,
            candidates(world, male),
            target,
            dates.add_years(issue[rows], -oldest),
            adult_latest(issue[rows]),
            beta_risk,
        )
    return second


@dataclass(frozen=True)
class Chain:
    """Events of a batch of cases: rows (case, day, type, category) and the day each case closed.

    Types and categories are indices into `names`: strings are made once, for the table (see `strings`).
    """

    case: np.ndarray
    day: np.ndarray
    event: np.ndarray
    category: np.ndarray
    closed: np.ndarray
    names: list[str]

    def strings(self, codes: np.ndarray) -> pa.Array:
        return labels(self.names, codes)


def run_chain(rng: np.random.Generator, steps: list[dict[str, Any]], start: np.ndarray, names: list[str]) -> Chain:
    """Play a chain of steps (see the header of family_civil.yaml) for every case at once.

    The loop is over the steps of the chain and the repeats of a step (a handful), never over cases. Event types
    and categories come back as positions in `names`.
    """
    code = {name: i for i, name in enumerate(names)}
    n, max_repeat = len(start), int(params()["max_repeat"])
    last: dict[str, np.ndarray] = {}
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    closes = np.zeros(n, dtype=bool)
    for step in steps:
        base, can = _step_base(step, last, start)
        go = can & (rng.random(n) < step.get("p", 1.0))
        lo, hi = step.get("days", [0, 0])
        times = np.minimum(1 + rng.poisson(step.get("repeat_mean", 0.0), n), max_repeat)
        seen = np.full(n, dates.NEVER, dtype=np.int32)
        current = base.astype(np.int64)
        for r in range(max_repeat):
            active = go & (times > r)
            if not active.any():
                break
            current = current + rng.integers(lo, hi + 1, n)
            rows = np.flatnonzero(active)
            outcome = _outcomes(rng, step, len(rows), code)
            parts.append((rows, current[rows].astype(np.int32), outcome, code[step["category"]]))
            seen[rows] = current[rows]
        last[step["event"]] = seen
        if step.get("closes"):
            closes |= seen != dates.NEVER
    return _assemble(parts, closes, n, names)


def _step_base(step: dict[str, Any], last: dict[str, np.ndarray], start: np.ndarray) -> tuple:
    """The day a step counts from (the latest of its `after` steps) and whether it may happen at all."""
    if "after" not in step:
        return start, np.ones(len(start), dtype=bool)
    before = np.stack([last[name] for name in step["after"]])
    happened = before != dates.NEVER
    base = np.where(happened, before, np.iinfo(np.int32).min).max(axis=0)
    can = happened.any(axis=0)
    for name in step.get("unless", []):
        can &= last[name] == dates.NEVER
    return base, can


def _outcomes(rng: np.random.Generator, step: dict[str, Any], n: int, code: dict[str, int]) -> np.ndarray:
    """The event type recorded for each occurrence of a step: its name, or one of its weighted outcomes."""
    outcomes = step.get("outcomes")
    if not outcomes:
        return np.full(n, code[step["event"]], dtype=np.int64)
    names = np.array([code[name] for name in outcomes], dtype=np.int64)
    weights = np.array(list(outcomes.values()), dtype=float)
    return names[rng.choice(len(names), size=n, p=weights / weights.sum())]


def _assemble(parts: list, closes: np.ndarray, n: int, names: list[str]) -> Chain:
    if parts:
        case = np.concatenate([p[0] for p in parts]).astype(np.int64)
        day = np.concatenate([p[1] for p in parts])
        event = np.concatenate([p[2] for p in parts])
        category = np.concatenate([np.full(len(p[0]), p[3], dtype=np.int64) for p in parts])
    else:
        case, day = np.zeros(0, np.int64), np.zeros(0, np.int32)
        event, category = np.zeros(0, np.int64), np.zeros(0, np.int64)
    last_day = np.full(n, np.iinfo(np.int32).min, dtype=np.int64)
    np.maximum.at(last_day, case, day.astype(np.int64))
    closed = np.where(closes, last_day, dates.NEVER).astype(np.int32)
    return Chain(case, day, event, category, closed, names)


def _chain_names(chains: dict[str, list]) -> list[str]:
    """Every event type, outcome and category the chains can record, in a fixed order."""
    return sorted(
        {step["event"] for steps in chains.values() for step in steps}
        | {name for steps in chains.values() for step in steps for name in step.get("outcomes", {})}
        | {step["category"] for steps in chains.values() for step in steps}
    )


def play_chains(
    rng: np.random.Generator, types: dict[str, Any], chains: dict[str, list], case_type: np.ndarray, issue: np.ndarray
) -> Chain:
    """Events of cases whose type's spec names its chain (`events`): see chain_events."""
    chain_of = np.empty(len(issue), dtype=object)
    for name, spec in types.items():
        chain_of[case_type == name] = spec["events"]
    return chain_events(rng, chains, chain_of, issue)


def chain_events(
    rng: np.random.Generator, chains: dict[str, list], chain_of_case: np.ndarray, issue: np.ndarray
) -> Chain:
    """Events of cases of several types: each case plays its type's chain; rows come back sorted by case."""
    names = _chain_names(chains)
    out = []
    for name in np.unique(chain_of_case):
        rows = np.flatnonzero(chain_of_case == name)
        out.append((rows, run_chain(rng, chains[name], issue[rows], names)))
    n = len(issue)
    closed = np.full(n, dates.NEVER, dtype=np.int32)
    if not out:
        empty = np.zeros(0, np.int64)
        return Chain(empty, np.zeros(0, np.int32), empty, empty, closed, names)
    for rows, c in out:
        closed[rows] = c.closed
    case = np.concatenate([rows[c.case] for rows, c in out])
    day = np.concatenate([c.day for _, c in out])
    event = np.concatenate([c.event for _, c in out])
    category = np.concatenate([c.category for _, c in out])
    order = np.lexsort((day, case))
    return Chain(case[order], day[order], event[order], category[order], closed, names)


def in_issue_order(cases: T, rng: np.random.Generator) -> T:
    """The cases (a dataclass of case arrays and `p_` party arrays) in issue-date order, ties at random, with
    their party rows and related-case links carried along and party rows sorted by case.

    Cases are generated person by person; left in that order, neighbouring rows would give away who is the
    same person, which a linkage exercise must not be able to read off the row order.
    """
    n = len(cases.issue)
    order = np.lexsort((rng.random(n), cases.issue))
    new_of = np.empty(n, dtype=np.int64)
    new_of[order] = np.arange(n)
    moved: dict[str, np.ndarray] = {}
    for name in (f.name for f in dataclasses.fields(cases)):
        value = getattr(cases, name)
        if name == "p_case":
            moved[name] = new_of[value]
        elif name == "related":
            moved[name] = np.where(value[order] >= 0, new_of[np.maximum(value[order], 0)], -1)
        else:
            moved[name] = value if name.startswith("p_") else value[order]
    rows = np.lexsort((np.arange(len(moved["p_case"])), moved["p_case"]))
    return dataclasses.replace(cases, **{k: v[rows] if k.startswith("p_") else v for k, v in moved.items()})


def region_of(world: World, person: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Region index (into world.hoods.regions) of the address each person lived at on a date."""
    p = world.people
    k = p.address_index(person, when)
    return world.hoods.region[p.addr_sector[person, k]]


def pick_by_region(
    world: World, rng: np.random.Generator, by_region: dict[str, list[str]], region: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One name per row from its region's list, uniformly; returns (names, index into all the names)."""
    names: list[str] = []
    start = np.zeros(len(world.hoods.regions), dtype=np.int64)
    count = np.zeros(len(world.hoods.regions), dtype=np.int64)
    for r, region_name in enumerate(world.hoods.regions):
        start[r], count[r] = len(names), len(by_region[region_name])
        names.extend(by_region[region_name])
    idx = start[region] + np.floor(rng.random(len(region)) * count[region]).astype(np.int64)
    return np.array(names, dtype=object)[idx], idx


def sector_of(world: World, person: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Postcode sector of the address each person lived at on a date."""
    return world.people.addr_sector[person, world.people.address_index(person, when)]
