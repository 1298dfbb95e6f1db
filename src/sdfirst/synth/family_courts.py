"""Family courts: the cases of FamilyMan, their parties and their events (applications, hearings, orders).

Cases arise as Poisson processes over each person's years in the dataset's coverage: a divorce from the
petitioner, a Family Law Act application from the respondent (who skews to high risk), private and public law
cases and adoptions from the child. The other parties (the partner, the parents, siblings, adopters) are other
people of the chunk chosen by age, so the same people appear in the criminal datasets too; a local authority
brings care proceedings. Each case then plays its type's chain of events. Every rate, age and event sequence is
in `synthetic/family_civil.yaml`; the machinery shared with the civil courts is `sdfirst.synth.parties`.
`simulate_family_courts` returns it all as a `FamilyCourts`, which `tables/family.py` maps to columns.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdfirst.synth import dates
from sdfirst.synth.parties import (
    Chain,
    adult_age,
    adult_days,
    adult_latest,
    candidates,
    coverage,
    draw_index,
    gap_dob,
    in_issue_order,
    match,
    params,
    partners,
    pick_by_region,
    play_chains,
    region_of,
    sector_of,
)
from sdfirst.synth.world import Window, World

DATASET = "family"
YEAR_DAYS = 365.25  # days in a year of age, as dates.add_years counts them


@dataclass(frozen=True)
class Cases:
    """Cases of one or more types as parallel arrays, with their party rows (sorted by case)."""

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
            (issue[rows] - part["max_age"] * YEAR_DAYS).astype(np.int32),
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
    """The index child and Poisson(siblings_mean) siblings of nearby age, all children (under adult_age) at issue."""
    n_sib = rng.poisson(spec["siblings_mean"], len(child))
    case = np.repeat(np.arange(len(child)), n_sib)
    base = world.people.dob[child][case]
    gap = spec["sibling_gap_years"]
    target = dates.add_years(base, rng.uniform(-gap, gap, len(case)))
    earliest = (issue[case].astype(np.int64) - adult_days() + 2).astype(np.int32)
    sib = match(world, rng, candidates(world), target, earliest, issue[case], spec["index"]["beta_risk"])
    keep = sib >= 0
    return np.r_[np.arange(len(child)), case[keep]], np.r_[child, sib[keep]]


def _parents(
    world: World, rng: np.random.Generator, spec: dict[str, Any], child: np.ndarray, issue: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mother and (sometimes) father of the index child: adults of a plausible age at the child's birth."""
    par, p = spec["parents"], world.people
    youngest, oldest = params()[DATASET]["parent_age_at_birth"]
    born = p.dob[child]
    latest = np.minimum(adult_latest(issue), dates.add_years(born, -youngest))
    earliest = dates.add_years(born, -oldest)
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
    spec, role = cfg["case_types"]["Private law"], cfg["roles"]
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
            _people(case, applicant, role["applicant"]),
            _people(case, respondent, role["respondent"]),
            _people(c_case, c_person, role["child"]),
        ],
    )


def _public_law(world: World, cfg: dict[str, Any], window: Window) -> tuple[Cases, np.ndarray, np.ndarray]:
    """Care proceedings: the local authority applies; parents respond; the children are parties.

    Also returns each case's mother and father, which adoptions from care reuse as birth parents.
    """
    spec, role = cfg["case_types"]["Public law"], cfg["roles"]
    rng = world.rng("family:cases:Public law")
    child, issue = draw_index(world, rng, window, spec["index"])
    c_case, c_person = _children(world, rng, spec, child, issue)
    mother, father = _parents(world, rng, spec, child, issue)
    _, council = pick_by_region(world, rng, cfg["local_authorities"], region_of(world, child, issue))
    case = np.arange(len(child))
    parties = [
        (case, np.full(len(case), -1), role["applicant"], council),
        _people(case, mother, role["respondent"]),
        _people(case, father, role["respondent"]),
        _people(c_case, c_person, role["child"]),
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
    role = cfg["roles"]
    kids = np.flatnonzero(public.p_role == role["child"])
    kids = kids[rng.random(len(kids)) < spec["from_public_law_share"]]
    care_case, care_child = public.p_case[kids], public.p_person[kids]
    lo, hi = spec["from_public_law_delay_days"]
    care_issue = public.issue[care_case] + rng.integers(lo, hi + 1, len(kids))
    ok = (care_issue <= window.end) & (care_issue < p.dob[care_child] + adult_days() - spec["min_days_before_adult"])
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
        dates.add_years(issue, -ad["max_age"]),
        adult_latest(issue),
        ad["beta_risk"],
    )
    second = _second_adopter(world, rng, ad, first, issue)
    bp = spec["birth_parent"]
    youngest, oldest = cfg["parent_age_at_birth"]
    birth = match(
        world,
        rng,
        candidates(world),
        gap_dob(rng, p.dob[child], bp["age_gap_mean"], bp["age_gap_sd"]),
        dates.add_years(p.dob[child], -oldest),
        np.minimum(adult_latest(issue), p.dob[child] - youngest * 365),
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
            _people(case, first, role["applicant"]),
            _people(case, second, role["applicant"]),
            _people(case, birth_mother, role["respondent"]),
            _people(case, birth_father, role["respondent"]),
            _people(case, child, role["child"]),
        ],
    )
    return dataclasses.replace(out, related=np.r_[care_case, out.related[n_care:]])


def _second_adopter(
    world: World, rng: np.random.Generator, ad: dict[str, Any], first: np.ndarray, issue: np.ndarray
) -> np.ndarray:
    """A partner of the first adopter for joint adoptions."""
    joint = (first >= 0) & (rng.random(len(first)) < ad["second_adopter_share"])
    return partners(world, rng, first, issue, joint, ad["partner_max_age"], ad["beta_risk"])


@dataclass(frozen=True)
class FamilyCourts:
    """The family cases of one chunk: cases in issue order with their parties, and the events of each case."""

    cases: Cases
    events: Chain  # rows sorted by case; `closed` is each case's disposal day (NEVER while open)
    court_sector: np.ndarray  # postcode sector of each case's lead party at issue, which decides its court
    organisations: tuple[str, ...]  # local authority names, which `Cases.p_org` indexes
    window: Window  # the dataset's coverage within the run's years


def family_courts(world: World) -> FamilyCourts:
    """The chunk's family cases, simulated once: the family court tables and the Cafcass records of its
    children's cases read the same cases."""
    return world.memo("family_courts", lambda: simulate_family_courts(world))


def simulate_family_courts(world: World) -> FamilyCourts:
    """Every family case of the chunk, its parties and its events."""
    window = coverage(world, DATASET)
    cfg = params()[DATASET]
    cases = simulate_cases(world, cfg, window)
    events = play_chains(
        world.rng("family:events"), cfg["case_types"], cfg["event_chains"], cases.case_type, cases.issue
    )
    return FamilyCourts(
        cases=cases,
        events=events,
        court_sector=sector_of(world, cases.lead, cases.issue),
        organisations=tuple(name for region in world.hoods.regions for name in cfg["local_authorities"][region]),
        window=window,
    )


def simulate_cases(world: World, cfg: dict[str, Any], window: Window) -> Cases:
    """All family cases of the chunk with their parties, checked for ages and duplicate parties."""
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
    adoption = parts[4]
    parts[4] = dataclasses.replace(
        adoption, related=np.where(adoption.related >= 0, adoption.related + offsets[3] - offsets[4], -1)
    )
    cases = _valid_parties(world, Cases.concat(parts))
    cases = dataclasses.replace(cases, related=_link_related(world, cfg, cases))
    return in_issue_order(cases, world.rng("family:order"))


def _valid_parties(world: World, cases: Cases) -> Cases:
    """Drop party rows that break the rules: children must be under adult_age at issue, everyone else that age or over,
    nobody is party to a case before birth, and nobody holds two roles in one case."""
    person = cases.p_person
    is_person = person >= 0
    adult, role = adult_age(), params()[DATASET]["roles"]
    age = np.full(len(person), adult, dtype=np.int64)
    rows = np.flatnonzero(is_person)
    when = cases.issue[cases.p_case[rows]]
    age[rows] = dates.age_on(world.people.dob[person[rows]], when)
    child = cases.p_role == role["child"]
    ok = ~is_person | np.where(child, (age >= 0) & (age < adult), age >= adult)
    key = np.where(is_person, person, -1 - np.arange(len(person)))
    _, first = np.unique(np.c_[cases.p_case, key], axis=0, return_index=True)
    unique = np.zeros(len(person), dtype=bool)
    unique[first] = True
    keep = np.flatnonzero(ok & unique)
    keep = keep[np.lexsort((keep, cases.p_case[keep]))]
    return dataclasses.replace(
        cases,
        p_case=cases.p_case[keep],
        p_person=cases.p_person[keep],
        p_role=cases.p_role[keep],
        p_org=cases.p_org[keep],
    )


def _link_related(world: World, cfg: dict[str, Any], cases: Cases) -> np.ndarray:
    """Each case's related case: as it stands, or for some cases the latest earlier case that shares a person
    (divorce then child arrangements)."""
    rng = world.rng("family:related")
    related = cases.related.copy()
    rows = np.flatnonzero(cases.p_person >= 0)
    if len(rows) < 2:
        return related
    person, case = cases.p_person[rows], cases.p_case[rows]
    issue = cases.issue[case]
    order = np.lexsort((case, issue, person))
    person, case, issue = person[order], case[order], issue[order]
    prior = np.r_[False, (person[1:] == person[:-1]) & (case[1:] != case[:-1]) & (issue[1:] >= issue[:-1])]
    earlier = np.r_[-1, case[:-1]]
    cand_case, cand_prior = case[prior], earlier[prior]
    if len(cand_case) == 0:
        return related
    first = np.unique(cand_case, return_index=True)[1]
    target, source = cand_case[first], cand_prior[first]
    take = (related[target] < 0) & (rng.random(len(target)) < cfg["related_case_share"])
    related[target[take]] = source[take]
    return related
