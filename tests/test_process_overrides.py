"""Overrides reach the values of the family, civil and education processes that the specs now hold.

Each of these values was written in Python before it moved to `family_civil.yaml` or `education.yaml`; a value
read once at import would not see an override. These tests change one value each and look for its mark in the
tables: through `specs.overridden` on a small World, and through `generate(config=...)` in a run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sdfirst
from sdfirst import specs
from sdfirst.synth import dates, generate
from sdfirst.synth.tables import civil, family, moj_dfe
from sdfirst.synth.world import Window, World

PEOPLE = 10_000


def _world() -> World:
    return World(seed=5, chunk=0, first_id=0, n_people=PEOPLE, window=Window.of_years(2000, 2023))


def _overridden(change: dict) -> specs.Overrides:
    overrides = specs.read_overrides(change)
    assert overrides is not None
    return overrides


def _child_ages(world: World) -> np.ndarray:
    """Age at issue of every child party of the family cases built now."""
    built = {name: part.made() for name, part in family.build(world).items()}
    cases, parties = built["cases"], built["parties"]
    issue_of = dict(
        zip(cases.columns["case_number_hash"].to_pylist(), cases.columns["issue_date"].to_pylist(), strict=True)
    )
    role = np.asarray(parties.columns["party_role"].to_pylist(), dtype=object)
    child = np.flatnonzero(role == "child")
    issue = np.array([dates.day(str(issue_of[h])) for h in np.asarray(parties.columns["case_number_hash"])[child]])
    return dates.age_on(world.people.dob[parties.person[child]], issue)


def test_the_adult_age_decides_who_is_a_child_party():
    shipped = _child_ages(_world())
    with specs.overridden(_overridden({"family_civil.yaml": {"adult_age": 16}})):
        younger = _child_ages(_world())
    assert shipped.max() == 17 and younger.max() == 15
    assert len(younger) < len(shipped)  # the 16- and 17-year-olds are no longer child parties


def _person_claimants_born(change: dict | None) -> tuple[set[str], np.ndarray]:
    """The party types of the civil parties, and the dates of birth of the person claimants."""
    with specs.overridden(_overridden(change) if change else None):
        world = _world()
        parties = civil.build(world)["parties"].made()
    role = np.asarray(parties.columns["party_role"].to_pylist(), dtype=object)
    claimant = parties.person[(role == "Claimant") & (parties.person >= 0)]
    return set(parties.columns["party_type"].to_pylist()), world.people.dob[claimant]


def test_the_party_types_and_the_oldest_claimant_come_from_the_spec():
    kinds, born = _person_claimants_born(None)
    change = {"civil": {"party_types": {"organisation": "Firm"}, "person_claimant": {"max_age": 40}}}
    new_kinds, new_born = _person_claimants_born({"family_civil.yaml": change})
    assert kinds == {"Company", "Person"} and new_kinds == {"Firm", "Person"}
    # civil cases are issued from 2011: a claimant at most 40 then was born in 1970 or later
    assert born.min() < dates.day("1960-01-01") and new_born.min() >= dates.day("1970-01-01")


def test_sessions_possible_by_year_is_merged_key_by_key():
    change = {"education.yaml": {"absence": {"sessions_possible": {"from": {2012: 400}}}}}
    with specs.overridden(_overridden(change)):
        assert specs.load_yaml("education.yaml")["absence"]["sessions_possible"]["from"] == {2012: 400, 2019: 250}
        absence = moj_dfe.build(_world())["absence"].made()
    years = np.asarray(absence.columns["absenceyear_ab"]) - 1  # the academic year starts the autumn before
    possible = np.asarray(absence.columns["sessionspossible_annual_ab"])
    full = possible[(years >= 2012) & (years < 2019)]
    assert full.max() == 400 and set(possible[years < 2012]) <= set(range(321))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """The MoJ-DfE share at the shipped age of criminal responsibility and at 14, through generate(config=...)."""
    root = tmp_path_factory.mktemp("process-overrides")
    settings = {"people": 4_000, "seed": 3, "chunk_people": 2_000, "workers": 2, "datasets": "moj_dfe"}
    change = {"education.yaml": {"police": {"min_age": 14}}}
    return {
        "shipped": (root / "shipped", generate(root / "shipped", **settings)),
        "fourteen": (root / "fourteen", generate(root / "fourteen", config=change, **settings)),
    }


def _youngest(folder: Path) -> int:
    query = "SELECT min(offencestartage) FROM moj_dfe.pnc_offences WHERE offencestartage >= 0"  # negative: unknown
    return sdfirst.connect(folder).execute(query).fetchone()[0]


def test_an_override_of_the_police_extract_changes_only_the_police_side(runs):
    (shipped, plain), (fourteen, changed) = runs["shipped"], runs["fourteen"]
    assert _youngest(shipped) < 14 <= _youngest(fourteen)
    hashes = {
        name: {k: v["content_hash"] for k, v in m["tables"].items()} for name, m in (("a", plain), ("b", changed))
    }
    differ = {k for k in hashes["a"] if hashes["a"][k] != hashes["b"][k]}
    # the Foundation Stage Profile and KS2 test files carry the MoJ id of pupils matched to a PNC record, so they
    # move with them, and the prison education files hold only people of the PNC file, under that id
    police_side = {"moj_dfe.pnc_offences", "moj_dfe.eyfsp", "moj_dfe.ks2_exam", "truth.key_person"}
    prison_education = {"moj_dfe.prison_education_learners", "moj_dfe.prison_education_courses"}
    assert police_side <= differ <= police_side | prison_education
    assert changed["specs"]["overrides"]["content"] == {"education.yaml": {"police": {"min_age": 14}}}
