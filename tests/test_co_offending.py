"""Co-offending groups: sizes above two, members alike in age, place and sex, tried together, and the spec's
offence groups checked. Measured on one small World's offences and cases (the process, not a dataset)."""

from __future__ import annotations

import numpy as np
import pytest

from sdfirst import specs
from sdfirst.exceptions import DataFirstError
from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.courts import simulate_courts
from sdfirst.synth.world import Window, World

PEOPLE = 30_000


def _world() -> World:
    return World(seed=3, chunk=0, first_id=0, n_people=PEOPLE, window=Window.of_years(2000, 2023))


@pytest.fixture(scope="module")
def courts():
    return simulate_courts(_world()), _world().people


def _groups(cases):
    """Each case group with more than one defendant: its label and member count."""
    labels, counts = np.unique(cases.case_group, return_counts=True)
    return labels[counts > 1], counts[counts > 1]


def test_groups_come_in_several_sizes_and_never_repeat_a_person(courts):
    result, _ = courts
    labels, counts = _groups(result.cases)
    assert len(labels) > 100
    assert {2, 3, 4} <= set(counts.tolist())
    assert (counts == 2).mean() > 0.5  # most groups are pairs
    assert counts.max() <= 2 + len(specs.load_yaml("justice.yaml")["offending"]["co_defendant"]["size_weights"]) - 1
    in_group = np.isin(result.cases.case_group, labels)
    pairs = np.stack([result.cases.case_group[in_group], result.cases.person[in_group]], axis=1)
    assert len(np.unique(pairs, axis=0)) == len(pairs)


def test_members_are_near_in_age_mostly_male_and_share_a_venue(courts):
    result, people = courts
    cases = result.cases
    labels, _ = _groups(cases)
    rows = np.flatnonzero(np.isin(cases.case_group, labels))
    age = (cases.offence_date[rows] - people.dob[cases.person[rows]]) / dates.YEAR
    order = np.argsort(cases.case_group[rows], kind="stable")
    group, age = cases.case_group[rows][order], age[order]
    same = group[1:] == group[:-1]
    gap = np.abs(np.diff(age))[same]
    random_gap = np.abs(age[1:] - np.random.default_rng(0).permutation(age)[1:])
    assert np.median(gap) < 0.5 * np.median(random_gap)
    assert people.male[cases.person[rows]].mean() > 0.8
    # tried together: sent to the Crown Court for trial all or none (a youth's lower chance of an either-way
    # sending, and committals for sentence, which are each defendant's own, leave a few apart)
    trial = cases.crown_type[rows][order] == code_list("crown_case_types")["trial"]
    assert (trial[1:][same] == trial[:-1][same]).mean() > 0.95


def test_a_misspelt_offence_group_is_refused():
    change = {"justice.yaml": {"offending": {"co_defendant": {"probability": {"Robery": 0.3}}}}}
    with specs.overridden(specs.read_overrides(change)), pytest.raises(DataFirstError, match="unknown key 'Robery'"):
        specs.load_yaml("justice.yaml")
