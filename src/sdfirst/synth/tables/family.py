"""Family court (FamilyMan) tables: cases, their events and their parties.

Cases arise as Poisson processes over each person's years in the dataset's coverage: a divorce from the
petitioner, a Family Law Act application from the respondent (who skews to high risk), private and public law
cases and adoptions from the child. The other parties (the partner, the parents, siblings, adopters) are other
people of the chunk chosen by age, so the same people appear in the criminal datasets too. Every rate and
event sequence is in `synthetic/family_civil.yaml`.

The small helpers here (rates, matching people by age, event chains, court choice) are shared with the civil
builder, which models claims the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.columns import either, labels
from sdfirst.synth.ids import id_key, mix64, to_hex
from sdfirst.synth.recording import record
from sdfirst.synth.tables import Built
from sdfirst.synth.world import Window, World

DATASET = "family"
PARAMS = "family_civil.yaml"
ROLES = ("applicant", "respondent", "child", "other")
ADULT = 18
DAYS_18 = 6575  # at least 18 calendar years in days (18 * 365 + 5 leap days)


# ---------------------------------------------------------------------------------------------------------
# Shared helpers (also used by civil.py)


def params() -> dict[str, Any]:
    """The whole family and civil parameter file."""
    return load_yaml(PARAMS)


def coverage(world: World, dataset: str) -> Window:
    """The dataset's coverage (from its spec) narrowed to the run's window."""
    cov = load_yaml(f"datasets/{dataset}.yaml")["coverage"]
    return world.coverage(str(cov["start"]), str(cov["end"]))


def rate_multiplier(world: World, index: dict[str, Any]) -> np.ndarray:
    """Each person's relative rate: risk, deprivation and sex, averaging 1 over the chunk.

    Normalising keeps `rate_per_1000` the average rate, whatever the betas, so that volumes stay calibrated
    when the skew towards high-risk people is changed.
    """
    p = world.people
    deprivation = (5.5 - p.deprivation.astype(float)) / 2.87
    score = index.get("beta_risk", 0.0) * p.risk.astype(float) + index.get("beta_deprivation", 0.0) * deprivation
    female = index.get("female_share", 0.5)
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


@dataclass
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
    """Latest date of birth of someone aged 18 or over on the issue day."""
    return (issue.astype(np.int64) - DAYS_18).astype(np.int32)


@dataclass
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


def sequence_in_group(group: np.ndarray) -> np.ndarray:
    """1, 2, 3 ... within runs of equal values of a sorted key (the order of events within a case)."""
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, group[1:] != group[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(group)), 0))
    return np.arange(len(group)) - first + 1


def in_issue_order(cases: Any, rng: np.random.Generator) -> Any:
    """Put cases in issue-date order (ties at random), carrying their party rows and related-case links.

    Cases are generated person by person; left in that order, neighbouring rows would give away who is the
    same person, which a linkage exercise must not be able to read off the row order.
    """
    n = len(cases.issue)
    order = np.lexsort((rng.random(n), cases.issue))
    new_of = np.empty(n, dtype=np.int64)
    new_of[order] = np.arange(n)
    for name in cases.__dataclass_fields__:
        value = getattr(cases, name)
        if name == "p_case":
            setattr(cases, name, new_of[value])
        elif name == "related":
            setattr(cases, name, np.where(value[order] >= 0, new_of[np.maximum(value[order], 0)], -1))
        elif not name.startswith("p_"):
            setattr(cases, name, value[order])
    rows = np.lexsort((np.arange(len(cases.p_case)), cases.p_case))
    for name in cases.__dataclass_fields__:
        if name.startswith("p_"):
            setattr(cases, name, getattr(cases, name)[rows])
    return cases


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


def court_names(world: World, fmt: str, sector: np.ndarray) -> pa.Array:
    """The court of the town serving each postcode sector (the same towns as the criminal courts' names)."""
    before, after = fmt.split("{town}")
    town = world.hoods.town.take(pa.array(np.asarray(sector, dtype=np.int64)))
    return pc.binary_join_element_wise(pa.scalar(before), town, pa.scalar(after), "")


def organisation_keys(world: World, kind: str, index: np.ndarray) -> pa.Array:
    """Stable hashed party ids of organisations (a council, a company): the same in every chunk."""
    raw = np.asarray(index, dtype=np.uint64)
    return to_hex(mix64(raw ^ id_key(world.seed, kind)))


def scatter(values: pa.Array, rows: np.ndarray, n: int) -> pa.Array:
    """Place values at `rows` of an n-long column, nulls elsewhere (identity columns of organisation rows)."""
    where = np.full(n, -1, dtype=np.int64)
    where[rows] = np.arange(len(rows))
    return values.take(pa.array(np.maximum(where, 0), mask=where < 0))


def null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def as_strings(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(values.astype(object, copy=False), type=pa.string(), mask=mask)


# ---------------------------------------------------------------------------------------------------------
# Family cases


@dataclass
class Cases:
    """Cases of one or more types as parallel arrays, with their party rows."""

    case_type: np.ndarray  # object
    issue: np.ndarray  # int32
    lead: np.ndarray  # person whose region decides the court
    related: np.ndarray  # index of a related case in the same Cases, -1 for none
    p_case: np.ndarray  # party rows: case index
    p_person: np.ndarray  # person, -1 for an organisation
    p_role: np.ndarray  # object
    p_org: np.ndarray  # organisation index (local authority), -1 for a person

    @staticmethod
    def concat(parts: list[Cases]) -> Cases:
        offsets = np.cumsum([0] + [len(c.issue) for c in parts])
        return Cases(
            case_type=np.concatenate([c.case_type for c in parts]),
            issue=np.concatenate([c.issue for c in parts]).astype(np.int32),
            lead=np.concatenate([c.lead for c in parts]),
            related=np.concatenate(
                [np.where(c.related >= 0, c.related + o, -1) for c, o in zip(parts, offsets[:-1], strict=True)]
            ),
            p_case=np.concatenate([c.p_case + o for c, o in zip(parts, offsets[:-1], strict=True)]),
            p_person=np.concatenate([c.p_person for c in parts]),
            p_role=np.concatenate([c.p_role for c in parts]),
            p_org=np.concatenate([c.p_org for c in parts]),
        )


def _cases(case_type: str, issue: np.ndarray, lead: np.ndarray, parties: list[tuple]) -> Cases:
    """Cases from their issue days, lead people and party groups (case index, person, role, organisation)."""
    n = len(issue)
    parties = [(c, p, np.full(len(c), r, dtype=object), o) for c, p, r, o in parties]
    return Cases(
        case_type=np.full(n, case_type, dtype=object),
        issue=issue.astype(np.int32),
        lead=lead,
        related=np.full(n, -1, dtype=np.int64),
        p_case=np.concatenate([x[0] for x in parties]).astype(np.int64),
        p_person=np.concatenate([x[1] for x in parties]).astype(np.int64),
        p_role=np.concatenate([x[2] for x in parties]),
        p_org=np.concatenate([x[3] for x in parties]).astype(np.int64),
    )


def _people(case: np.ndarray, person: np.ndarray, role: str) -> tuple:
    """A party group of people (dropping the -1s of failed matches)."""
    keep = person >= 0
    return case[keep], person[keep], role, np.full(keep.sum(), -1)


def _couple_case(world: World, cfg: dict[str, Any], name: str, window: Window) -> Cases:
    """Divorce and Family Law Act: an index adult and a partner of the opposite sex of about their age."""
    spec = cfg["case_types"][name]
    rng = world.rng(f"family:cases:{name}")
    person, issue = draw_index(world, rng, window, spec["index"])
    p, part = world.people, spec["partner"]
    male_index = p.male[person]
    # the gap is the man's age minus the woman's: a woman's partner is older, a man's younger
    gap = np.where(male_index, -1.0, 1.0) * part["age_gap_mean"]
    target = gap_dob(rng, p.dob[person], gap, part["age_gap_sd"])
    partner = np.full(len(person), -1, dtype=np.int64)
    for male in (True, False):
        rows = np.flatnonzero(male_index != male)
        partner[rows] = match(
            world,
            rng,
            candidates(world, male),
            target[rows],
            (issue[rows] - 90 * 365.25).astype(np.int32),
            adult_latest(issue[rows]),
            part["beta_risk"],
        )
    case = np.arange(len(person))
    return _cases(
        name,
        issue,
        person,
        [(case, person, spec["index"]["role"], np.full(len(case), -1)), _people(case, partner, part["role"])],
    )


def _children(
    world: World, rng: np.random.Generator, spec: dict[str, Any], child: np.ndarray, issue: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The index child and Poisson(siblings_mean) siblings of nearby age, all under 18 at issue."""
    n_sib = rng.poisson(spec["siblings_mean"], len(child))
    case = np.repeat(np.arange(len(child)), n_sib)
    base = world.people.dob[child][case]
    gap = spec["sibling_gap_years"]
    target = dates.add_years(base, rng.uniform(-gap, gap, len(case)))
    earliest = (issue[case].astype(np.int64) - DAYS_18 + 2).astype(np.int32)
    sib = match(world, rng, candidates(world), target, earliest, issue[case], spec["index"]["beta_risk"])
    keep = sib >= 0
    return np.r_[np.arange(len(child)), case[keep]], np.r_[child, sib[keep]]


def _parents(
    world: World, rng: np.random.Generator, spec: dict[str, Any], child: np.ndarray, issue: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mother and (sometimes) father of the index child: adults of a plausible age at the child's birth."""
    par, p = spec["parents"], world.people
    born = p.dob[child]
    latest = np.minimum(adult_latest(issue), dates.add_years(born, -16))
    earliest = dates.add_years(born, -50)
    mother = match(
        world,
        rng,
        candidates(world, False),
        gap_dob(rng, born, par["mother_age_mean"], par["mother_age_sd"]),
        earliest,
        latest,
        par["mother_beta_risk"],
    )
    father = match(
        world,
        rng,
        candidates(world, True),
        gap_dob(rng, born, par["father_age_mean"], par["father_age_sd"]),
        earliest,
        latest,
        par["father_beta_risk"],
    )
    father[rng.random(len(child)) >= par["father_present"]] = -1
    return mother, father


def _private_law(world: World, cfg: dict[str, Any], window: Window) -> Cases:
    """Child arrangements disputes: one parent applies, the other responds, the children are parties."""
    spec = cfg["case_types"]["Private law"]
    rng = world.rng("family:cases:Private law")
    child, issue = draw_index(world, rng, window, spec["index"])
    c_case, c_person = _children(world, rng, spec, child, issue)
    mother, father = _parents(world, rng, spec, child, issue)
    father_applies = rng.random(len(child)) < spec["applicant_father_share"]
    applicant = np.where(father_applies, father, mother)
    respondent = np.where(father_applies, mother, father)
    case = np.arange(len(child))
    lead = np.where(applicant >= 0, applicant, child)
    return _cases(
        "Private law",
        issue,
        lead,
        [
            _people(case, applicant, "applicant"),
            _people(case, respondent, "respondent"),
            _people(c_case, c_person, "child"),
        ],
    )


def _public_law(world: World, cfg: dict[str, Any], window: Window) -> tuple[Cases, np.ndarray, np.ndarray]:
    """Care proceedings: the local authority applies; parents respond; the children are parties.

    Also returns each case's mother and father, which adoptions from care reuse as birth parents.
    """
    spec = cfg["case_types"]["Public law"]
    rng = world.rng("family:cases:Public law")
    child, issue = draw_index(world, rng, window, spec["index"])
    c_case, c_person = _children(world, rng, spec, child, issue)
    mother, father = _parents(world, rng, spec, child, issue)
    _, council = pick_by_region(world, rng, cfg["local_authorities"], region_of(world, child, issue))
    case = np.arange(len(child))
    parties = [
        (case, np.full(len(case), -1), "applicant", council),
        _people(case, mother, "respondent"),
        _people(case, father, "respondent"),
        _people(c_case, c_person, "child"),
    ]
    return _cases("Public law", issue, child, parties), mother, father


def _adoption(
    world: World, cfg: dict[str, Any], window: Window, public: Cases, mother: np.ndarray, father: np.ndarray
) -> Cases:
    """Adoptions: some children of care proceedings later, with their birth parents; others step-parent.

    Adoptions from care carry the care case as their related case (its index in `public`).
    """
    spec = cfg["case_types"]["Adoption"]
    rng = world.rng("family:cases:Adoption")
    p = world.people
    kids = np.flatnonzero(public.p_role == "child")
    kids = kids[rng.random(len(kids)) < spec["from_public_law_share"]]
    care_case, care_child = public.p_case[kids], public.p_person[kids]
    lo, hi = spec["from_public_law_delay_days"]
    care_issue = public.issue[care_case] + rng.integers(lo, hi + 1, len(kids))
    ok = (care_issue <= window.end) & (care_issue < p.dob[care_child] + DAYS_18 - 366)
    care_case, care_child, care_issue = care_case[ok], care_child[ok], care_issue[ok]
    other_child, other_issue = draw_index(world, rng, window, spec["index"])
    child = np.r_[care_child, other_child]
    issue = np.r_[care_issue, other_issue].astype(np.int32)
    n_care, n = len(care_child), len(child)
    ad = spec["adopters"]
    first = match(
        world,
        rng,
        candidates(world),
        gap_dob(rng, p.dob[child], ad["age_gap_mean"], ad["age_gap_sd"]),
        dates.add_years(issue, -70),
        adult_latest(issue),
        ad["beta_risk"],
    )
    second = _second_adopter(world, rng, ad, first, issue)
    bp = spec["birth_parent"]
    birth = match(
        world,
        rng,
        candidates(world),
        gap_dob(rng, p.dob[child], bp["age_gap_mean"], bp["age_gap_sd"]),
        dates.add_years(p.dob[child], -50),
        np.minimum(adult_latest(issue), p.dob[child] - 16 * 365),
        bp["beta_risk"],
    )
    birth_mother = np.r_[mother[care_case], np.where(p.male[birth[n_care:]], -1, birth[n_care:])]
    birth_father = np.r_[father[care_case], np.where(p.male[birth[n_care:]], birth[n_care:], -1)]
    case = np.arange(n)
    out = _cases(
        "Adoption",
        issue,
        np.where(first >= 0, first, child),
        [
            _people(case, first, "applicant"),
            _people(case, second, "applicant"),
            _people(case, birth_mother, "respondent"),
            _people(case, birth_father, "respondent"),
            _people(case, child, "child"),
        ],
    )
    out.related[:n_care] = care_case
    return out


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
    -1 elsewhere. Joint adopters and joint defendants are found the same way."""
    p = world.people
    second = np.full(len(person), -1, dtype=np.int64)
    known = np.maximum(person, 0)
    for male in (True, False):
        rows = np.flatnonzero(joint & (p.male[known] != male))
        target = gap_dob(rng, p.dob[known[rows]], 0.0, 4.0)
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


def _second_adopter(
    world: World, rng: np.random.Generator, ad: dict[str, Any], first: np.ndarray, issue: np.ndarray
) -> np.ndarray:
    """A partner of the first adopter for joint adoptions."""
    joint = (first >= 0) & (rng.random(len(first)) < ad["second_adopter_share"])
    return partners(world, rng, first, issue, joint, 75, ad["beta_risk"])


def simulate_cases(world: World, window: Window) -> Cases:
    """All family cases of the chunk with their parties, checked for ages and duplicate parties."""
    cfg = params()[DATASET]
    public, mother, father = _public_law(world, cfg, window)
    parts = [
        _couple_case(world, cfg, "Divorce", window),
        _couple_case(world, cfg, "Family Law Act", window),
        _private_law(world, cfg, window),
        public,
        _adoption(world, cfg, window, public, mother, father),
    ]
    # adoption's related cases are indices into `public`; concat shifts them by adoption's own offset, so
    # move them by the difference to land on public's rows
    offsets = np.cumsum([0] + [len(c.issue) for c in parts])
    parts[4].related = np.where(parts[4].related >= 0, parts[4].related + offsets[3] - offsets[4], -1)
    cases = Cases.concat(parts)
    cases = _valid_parties(world, cases)
    _link_related(world, cfg, cases)
    return in_issue_order(cases, world.rng("family:order"))


def _valid_parties(world: World, cases: Cases) -> Cases:
    """Drop party rows that break the rules: children must be under 18 at issue, everyone else 18 or over,
    nobody is party to a case before birth, and nobody holds two roles in one case."""
    person = cases.p_person
    is_person = person >= 0
    age = np.full(len(person), ADULT, dtype=np.int64)
    rows = np.flatnonzero(is_person)
    when = cases.issue[cases.p_case[rows]]
    age[rows] = dates.age_on(world.people.dob[person[rows]], when)
    child = cases.p_role == "child"
    ok = ~is_person | np.where(child, (age >= 0) & (age < ADULT), age >= ADULT)
    key = np.where(is_person, person, -1 - np.arange(len(person)))
    _, first = np.unique(np.c_[cases.p_case, key], axis=0, return_index=True)
    unique = np.zeros(len(person), dtype=bool)
    unique[first] = True
    keep = np.flatnonzero(ok & unique)
    keep = keep[np.lexsort((keep, cases.p_case[keep]))]
    cases.p_case, cases.p_person = cases.p_case[keep], cases.p_person[keep]
    cases.p_role, cases.p_org = cases.p_role[keep], cases.p_org[keep]
    return cases


def _link_related(world: World, cfg: dict[str, Any], cases: Cases) -> None:
    """Link some cases to the latest earlier case that shares a person (divorce then child arrangements)."""
    rng = world.rng("family:related")
    rows = np.flatnonzero(cases.p_person >= 0)
    if len(rows) < 2:
        return
    person, case = cases.p_person[rows], cases.p_case[rows]
    issue = cases.issue[case]
    order = np.lexsort((case, issue, person))
    person, case, issue = person[order], case[order], issue[order]
    prior = np.r_[False, (person[1:] == person[:-1]) & (case[1:] != case[:-1]) & (issue[1:] >= issue[:-1])]
    earlier = np.r_[-1, case[:-1]]
    cand_case, cand_prior = case[prior], earlier[prior]
    if len(cand_case) == 0:
        return
    first = np.unique(cand_case, return_index=True)[1]
    target, source = cand_case[first], cand_prior[first]
    take = (cases.related[target] < 0) & (rng.random(len(target)) < cfg["related_case_share"])
    cases.related[target[take]] = source[take]


# ---------------------------------------------------------------------------------------------------------
# Tables


def _cases_table(world: World, cases: Cases, case_hash: pa.Array, closed: np.ndarray, window: Window) -> Built:
    n = len(cases.issue)
    court = court_names(world, params()[DATASET]["court_name_format"], sector_of(world, cases.lead, cases.issue))
    children = np.bincount(cases.p_case[cases.p_role == "child"], minlength=n)
    related = cases.related
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.cases.row", n),
            "case_number_hash": case_hash,
            "case_type": as_strings(cases.case_type),
            "issue_date": dates.to_arrow(cases.issue),
            "originating_court": court,
            "disposal_date": dates.to_arrow(closed, closed > window.end),
            "related_case_number_hash": case_hash.take(pa.array(np.maximum(related, 0), mask=related < 0)),
            "number_of_children": children.astype(np.int64),
        },
        person=np.full(n, -1, dtype=np.int64),
    )


def _events_table(world: World, chain: Chain, case_hash: pa.Array, window: Window) -> Built:
    keep = chain.day <= window.end
    case, day = chain.case[keep], chain.day[keep]
    n = len(case)
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.events.row", n),
            "case_number_hash": case_hash.take(pa.array(case)),
            "event_seq": sequence_in_group(case),
            "event_date": dates.to_arrow(day),
            "event_type": chain.strings(chain.event[keep]),
            "event_category": chain.strings(chain.category[keep]),
        },
        person=np.full(n, -1, dtype=np.int64),
    )


def _parties_table(world: World, cases: Cases, case_hash: pa.Array) -> Built:
    cfg = params()[DATASET]
    n = len(cases.p_case)
    rows = np.flatnonzero(cases.p_person >= 0)
    when = cases.issue[cases.p_case[rows]]
    order = np.argsort(when, kind="stable")
    rec = record(world, DATASET, cases.p_person[rows], when, "family:parties", "broad_group", order=order)
    rows = rows[rec.kept]  # a person omitted is not among the case's parties at all
    ident = _role_missingness(world, cfg, cases.p_role[rows], rec.identity)
    org = cases.p_org >= 0
    party_id = pa.concat_arrays(
        [to_hex(rec.person_ids), organisation_keys(world, "family.local-authority", cases.p_org[org])]
    )
    placed = np.r_[rows, np.flatnonzero(org)]
    present = np.sort(placed)
    la_names = [n for r in world.hoods.regions for n in cfg["local_authorities"][r]]
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.parties.row", n),
            "case_number_hash": case_hash.take(pa.array(cases.p_case)),
            "party_id": scatter(party_id.take(pa.array(np.argsort(placed, kind="stable"))), present, n),
            "party_role": as_strings(cases.p_role),
            "party_type": either(org, "Local authority", "Person"),
            "organisation_name": labels(la_names, np.maximum(cases.p_org, 0), missing=~org),
            **{
                col: scatter(ident[col], rows, n)
                for col in ("forename", "surname", "date_of_birth", "sex", "postcode", "ethnicity")
            },
        },
        person=np.where(org, -1, cases.p_person).astype(np.int64),
    ).rows(present)


def _role_missingness(
    world: World, cfg: dict[str, Any], role: np.ndarray, ident: dict[str, pa.Array]
) -> dict[str, pa.Array]:
    """Blank more identifiers for some roles (children's addresses, absent respondents' details)."""
    rng = world.rng("family:role-missing")
    out = dict(ident)
    for r, columns in cfg["extra_missing"].items():
        for col, rate in columns.items():
            out[col] = null_where(out[col], (role == r) & (rng.random(len(role)) < rate))
    return out


def build(world: World) -> dict[str, Built]:
    """The family court tables of one chunk: cases, events and parties."""
    window = coverage(world, DATASET)
    cases = simulate_cases(world, window)
    cfg = params()[DATASET]
    chain_of = np.empty(len(cases.issue), dtype=object)
    for name, spec in cfg["case_types"].items():
        chain_of[cases.case_type == name] = spec["events"]
    chain = chain_events(world.rng("family:events"), cfg["event_chains"], chain_of, cases.issue)
    case_hash = world.ids(f"{DATASET}.case", len(cases.issue))
    return {
        "cases": _cases_table(world, cases, case_hash, chain.closed, window),
        "events": _events_table(world, chain, case_hash, window),
        "parties": _parties_table(world, cases, case_hash),
    }
