"""Learning in prison (CURIOUS): profiles only while held, courses inside them, assessments that follow ability."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import scalar
from sdfirst.synth import dates
from sdfirst.synth.prison_education import ability, params, simulate_prison_learning
from sdfirst.synth.world import Window, World


@pytest.fixture(scope="module")
def world():
    return World(11, 0, 0, 40_000, Window.of_years(2000, 2023))


@pytest.fixture(scope="module")
def learning(world):
    return simulate_prison_learning(world)


def test_profiles_belong_to_sentenced_journeys_held_in_the_window(world, learning):
    j = world.custody.journeys
    par = params()
    first, last = dates.day(str(par["first_day"])), dates.day(str(par["last_day"]))
    rows = learning.profile_journey
    assert len(rows) > 50 and j.sentenced[rows].all()
    assert (learning.profile_person == j.person[rows]).all()
    assert (learning.profile_induction >= np.maximum(j.start[rows], first)).all()
    assert (learning.profile_induction <= last).all()
    released = learning.profile_leaving != dates.NEVER
    assert (learning.profile_leaving[released] == j.first_release[rows][released]).all()
    assert (learning.profile_induction[released] < learning.profile_leaving[released]).all()
    assert (j.first_release[rows][~released] > last).all()  # still held when the window closes


def test_courses_run_only_while_the_person_is_held(learning):
    p = learning.course_profile
    leaving = learning.profile_leaving[p]
    assert len(p) > 50
    assert (learning.course_start >= learning.profile_induction[p]).all()
    held = leaving != dates.NEVER
    assert (learning.course_start[held] < leaving[held]).all()
    ended = learning.course_end != dates.NEVER
    assert (learning.course_end[ended & held] <= leaving[ended & held]).all()
    released = learning.course_outcome == 2
    assert (learning.course_end[released] == leaving[released]).all()
    assert (learning.course_end[released] < learning.course_planned_end[released]).all()
    assert ((learning.course_outcome == 3) == ~ended).all()  # only a continuing course has no end


def test_assessments_follow_ability(world, learning):
    """English and maths levels rise with the person's ability, and with each other."""
    skill = ability(world, learning.profile_person, np.random.default_rng(0))
    assert np.corrcoef(skill, learning.english_level)[0, 1] > 0.4
    assert np.corrcoef(learning.english_level, learning.maths_level)[0, 1] > 0.4
    levels = len(params()["assessment"]["levels"])
    assert learning.english_level.min() >= 0 and learning.maths_level.max() < levels


def test_every_sector_and_level_is_a_listed_one(learning):
    par = params()
    assert learning.course_sector.max() < len(par["sectors"]) and learning.course_level.max() < len(
        par["course_levels"]
    )
    construction = list(par["sectors"]).index("05 Construction, Planning and the Built Environment")
    assert (learning.course_sector == construction).any()


def test_the_share_s_files_hold_only_people_of_its_pnc_file(con):
    """Every learner is someone the PNC file holds, under the same mojuid; every course belongs to a learner of that
    person and runs between the induction and the leaving; a leaving date comes with its reason."""
    assert scalar(con, "SELECT count(*) FROM moj_dfe.prison_education_learners") > 20
    outside = """SELECT count(*) FROM moj_dfe.prison_education_learners
                 WHERE mojuid NOT IN (SELECT mojuid FROM moj_dfe.pnc_offences)"""
    assert scalar(con, outside) == 0
    joined = """FROM moj_dfe.prison_education_courses c
                JOIN moj_dfe.prison_education_learners l USING (learnerprofileid)"""
    assert scalar(con, f"SELECT count(*) {joined}") == scalar(
        con, "SELECT count(*) FROM moj_dfe.prison_education_courses"
    )
    assert scalar(con, f"SELECT count(*) {joined} WHERE c.mojuid <> l.mojuid") == 0
    assert scalar(con, f"SELECT count(*) {joined} WHERE c.coursestartdate < l.inductiondate") == 0
    assert scalar(con, f"SELECT count(*) {joined} WHERE c.coursestartdate >= l.leavingdate") == 0
    assert scalar(con, f"SELECT count(*) {joined} WHERE c.courseenddate > l.leavingdate") == 0
    mismatched = """SELECT count(*) FROM moj_dfe.prison_education_learners
                    WHERE (leavingdate IS NULL) <> (leavingreason IS NULL)"""
    assert scalar(con, mismatched) == 0
