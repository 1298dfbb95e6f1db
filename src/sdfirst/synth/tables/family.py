"""Family court (FamilyMan) tables: cases, their events and their parties.

Cases arise as Poisson processes over each person's years in the dataset's coverage: a divorce from the
petitioner, a Family Law Act application from the respondent (who skews to high risk), private and public law
cases and adoptions from the child. The other parties (the partner, the parents, siblings, adopters) are other
people of the chunk chosen by age, so the same people appear in the criminal datasets too. Every rate and
event sequence is in `synthetic/family_civil.yaml`.

The party and event-chain engine is `sdfirst.synth.parties`, which the civil courts use too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from sdfirst.synth import dates
from sdfirst.synth.columns import either, labels
from sdfirst.synth.parties import (
    DAYS_18,
    Chain,
    adult_latest,
    candidates,
    chain_events,
    coverage,
    draw_index,
    gap_dob,
    in_issue_order,
    match,
    params,
    partners,
    pick_by_region,
    region_of,
    sector_of,
)
from sdfirst.synth.recording import record_identity
from sdfirst.synth.tables import Built
from sdfirst.synth.tables.party_columns import (
    as_strings,
    court_names,
    null_where,
    organisation_keys,
    person_party_ids,
    scatter,
    sequence_in_group,
)
from sdfirst.synth.world import Window, World

DATASET = "family"
ADULT = 18


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
    person = cases.p_person[rows]
    when = cases.issue[cases.p_case[rows]]
    ident = record_identity(world, DATASET, person, when, "family:parties", ethnicity_coding="broad_group")
    ident = _role_missingness(world, cfg, cases.p_role[rows], ident)
    org = cases.p_org >= 0
    party_id = pa.concat_arrays(
        [
            person_party_ids(world, DATASET, person, when),
            organisation_keys(world, "family.local-authority", cases.p_org[org]),
        ]
    )
    placed = np.r_[rows, np.flatnonzero(org)]
    la_names = [n for r in world.hoods.regions for n in cfg["local_authorities"][r]]
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.parties.row", n),
            "case_number_hash": case_hash.take(pa.array(cases.p_case)),
            "party_id": party_id.take(pa.array(np.argsort(placed, kind="stable"))),
            "party_role": as_strings(cases.p_role),
            "party_type": either(org, "Local authority", "Person"),
            "organisation_name": labels(la_names, np.maximum(cases.p_org, 0), missing=~org),
            **{
                col: scatter(ident[col], rows, n)
                for col in ("forename", "surname", "date_of_birth", "sex", "postcode", "ethnicity")
            },
        },
        person=np.where(org, -1, cases.p_person).astype(np.int64),
    )


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
