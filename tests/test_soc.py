"""Serious and organised crime flag (`sdfirst.analysis.soc`): tiny hand-made Crown Court tables, known answers."""

from __future__ import annotations

import math
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from sdfirst.analysis import soc
from sdfirst.calibration import METRICS, Clustered, _load_metrics
from sdfirst.calibration.noise import ratio_error
from sdfirst.specs import load_yaml

# Crown Court rows: (row, case, defendants, sex, age, offence group, disposal, custody days, sentence date).
# Case A: two robbers, one given 4 years (so the case has a long sentence), the other 2 years: flagged.
# Case B: two drug dealers, both 2 years: co-defendants and offence type, but no sentence of three years.
# Case C: one robber, 5 years: no co-defendant.
# Case D: two defendants for a sexual offence, 6 years each: offence type not in the groups.
# Case E: an appeal with co-defendants: not a trial or sentence case, so left out.
CROWN = [
    ("a1", "A", 2, "M", 30, "Robbery", "Immediate custody", 1461, date(2015, 1, 1), "Trial"),
    ("a2", "A", 2, "F", 24, "Robbery", "Immediate custody", 730, date(2015, 1, 1), "Trial"),
    ("b1", "B", 2, "M", 40, "Drug offences", "Immediate custody", 730, date(2016, 1, 1), "Trial"),
    ("b2", "B", 2, "M", 50, "Drug offences", "Suspended sentence order", 365, date(2016, 1, 1), "Trial"),
    ("c1", "C", 1, "M", 20, "Robbery", "Immediate custody", 1826, date(2017, 1, 1), "Sentence"),
    ("d1", "D", 2, "M", 60, "Sexual offences", "Immediate custody", 2191, date(2014, 1, 1), "Trial"),
    ("d2", "D", 2, "M", 36, "Sexual offences", "Immediate custody", 2191, date(2014, 1, 1), "Trial"),
    ("e1", "E", 2, "M", 33, "Robbery", None, None, None, "Appeal"),
    ("e2", "E", 2, "M", 33, "Robbery", None, None, None, "Appeal"),
]
# Magistrates' cases (row, offence date, breach marker) and the linkage output (source, row, estimated person).
MAGS = [
    ("m1", date(2016, 6, 1), "N"),
    ("m2", date(2016, 6, 1), None),
    ("m3", date(2013, 1, 1), "N"),
    ("m4", date(2017, 6, 1), "Y"),
]
LINKS = [
    ("crown_xhibit", "a1", "P1"),
    ("crown_xhibit", "a2", "P2"),
    ("crown_xhibit", "b1", "P3"),
    ("crown_xhibit", "b2", "P4"),
    ("crown_xhibit", "c1", "P5"),
    ("crown_xhibit", "d1", "P6"),
    ("crown_xhibit", "d2", "P7"),
    ("mags_hocas", "m1", "P2"),  # a2 released 2016-01-01 (half of 730 days): back 2016-06-01
    ("mags_hocas", "m2", "P4"),  # b2 suspended, sentenced 2016-01-01: back 2016-06-01
    ("mags_hocas", "m3", "P6"),  # d1's magistrates' case came before the sentence: not a re-entry
    ("mags_hocas", "m4", "P3"),  # b1 released 2017-01-01, then a breach of the licence: not a re-entry either
]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA crown_court; CREATE SCHEMA magistrates; CREATE SCHEMA linking")
    con.execute(
        "CREATE TABLE crown_court.case_summary (row_id_hash VARCHAR, case_id_hash VARCHAR, number_of_defendants INT,"
        " sex VARCHAR, age_at_receipt INT, offence_group VARCHAR, disposal_type VARCHAR, custody_length_days INT,"
        " sentence_date DATE, case_type VARCHAR)"
    )
    con.executemany("INSERT INTO crown_court.case_summary VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", CROWN)
    con.execute(
        "CREATE TABLE magistrates.case_summary "
        "(row_id_hash VARCHAR, offence_date DATE, first_hearing_date DATE, breach_marker VARCHAR)"
    )
    con.executemany("INSERT INTO magistrates.case_summary VALUES (?, ?, ?, ?)", [(r, d, d, b) for r, d, b in MAGS])
    con.execute("CREATE TABLE linking.xjs_link (source_dataset VARCHAR, row_id_hash VARCHAR, estimated_xjs_id VARCHAR)")
    con.executemany("INSERT INTO linking.xjs_link VALUES (?, ?, ?)", LINKS)
    return con


def test_case_flags(con):
    cases = con.execute(soc.soc_cases_sql()).df().set_index("case_id_hash")
    assert list(cases.index) == ["A", "B", "C", "D"]  # the appeal is left out
    assert cases["soc"].to_dict() == {"A": True, "B": False, "C": False, "D": False}
    assert cases["co_defendants"].to_dict() == {"A": True, "B": True, "C": False, "D": True}
    assert cases["long_custody"].to_dict() == {"A": True, "B": False, "C": True, "D": True}
    assert cases.loc["A", "longest_custody_days"] == 1461
    assert cases.loc["B", "longest_custody_days"] == 730  # the suspended sentence does not count


def test_criteria_can_change(con):
    two_years = soc.SocCriteria(min_custody_days=730)
    cases = con.execute(soc.soc_cases_sql(two_years)).df().set_index("case_id_hash")
    assert cases["soc"].to_dict() == {"A": True, "B": True, "C": False, "D": False}
    with_sexual = soc.SocCriteria(offence_groups=("Robbery", "Sexual offences"))
    cases = con.execute(soc.soc_cases_sql(with_sexual)).df().set_index("case_id_hash")
    assert cases["soc"].to_dict() == {"A": True, "B": False, "C": False, "D": True}


def test_shares(con):
    assert soc.build_soc_frame(con) == 7
    shares = soc.soc_shares(con).set_index("measure")
    assert shares.loc["appearances flagged (%)", "synthetic"] == pytest.approx(100 * 2 / 7, abs=0.05)
    assert shares.loc["cases flagged (%)", "synthetic"] == 25.0
    assert shares.loc["male (%)", "synthetic"] == 50.0  # a1 is a man, a2 a woman
    assert shares.loc["mean age (years)", "synthetic"] == 27.0
    assert shares.loc["mean age (years)", "others"] == pytest.approx((40 + 50 + 20 + 60 + 36) / 5, abs=0.05)
    assert set(soc.published_figures()["measure"]) == set(shares.index)


def test_criteria_counts(con):
    funnel = soc.criteria_counts(con).set_index("criteria")["cases"].to_dict()
    assert funnel == {
        "all cases": 4,
        "co-defendants": 3,
        "custody of three years or more": 3,
        "offence type": 3,
        "co-defendants and custody": 2,
        "all three": 1,
    }


def test_reentry_and_outcomes(con):
    soc.build_soc_frame(con)
    reentries = soc.reentry(con, follow_up_days=730, end="2020-12-31").set_index("row_id_hash")
    # clock starts: a1 2015-01-01 + 730 days; a2 + 365; custody half-served; b2 (suspended) at the sentence
    assert reentries.loc["a2", "clock_start"] == pd.Timestamp("2016-01-01")
    assert reentries.loc["b2", "clock_start"] == pd.Timestamp("2016-01-01")
    assert reentries["reentered"].astype("boolean").fillna(False).to_dict() == {
        "a1": False,
        "a2": True,
        "b1": False,
        "b2": True,
        "c1": False,
        "d1": False,
        "d2": False,
    }
    # c1: released 2017-01-01 + 913 days = 2019-07-03; follow-up ends 2021-07-02, after the end: not followed
    assert not reentries.loc["c1", "followed"]
    assert pd.isna(reentries.loc["c1", "reentered"])
    frame = con.execute("SELECT * FROM soc_frame").df()
    outcomes = soc.compare_outcomes(frame, reentries.reset_index())
    assert list(outcomes.index) == [True, False]
    assert outcomes.loc[True, "appearances"] == 2
    assert outcomes.loc[True, "reentered_pct"] == 50.0
    assert outcomes.loc[False, "followed"] == 4
    assert outcomes.loc[False, "reentered_pct"] == 25.0
    assert outcomes.loc[False, "custody_pct"] == 80.0  # b2's suspended sentence is not immediate custody


def test_reentry_on_the_truth_needs_its_table(con):
    soc.build_soc_frame(con)
    with pytest.raises(duckdb.Error):
        soc.reentry(con, key="person_id")  # no truth.record_person in this connection


def test_published_figures_are_the_calibration_targets():
    """The chapter compares with the figures the calibration checks: calibration.yaml's, one per measure."""
    published = soc.published_figures().set_index("measure")
    targets = {t["id"]: t for t in load_yaml("calibration.yaml")["targets"]}
    for measure, target in soc.PUBLISHED_TARGETS.items():
        assert published.loc[measure, "published"] == targets[target]["published"]
        assert published.loc[measure, "tolerance"] == targets[target]["tolerance"]


def test_calibration_metrics_are_the_chapter_measures_with_errors_over_cases(con):
    """The calibration's SOC figures equal the chapter's measures, and their standard errors treat the case, not
    the appearance, as the unit (co-defendants share the case's flag)."""
    _load_metrics()
    soc.build_soc_frame(con)
    shares = soc.soc_shares(con).set_index("measure")["synthetic"]
    names = {"soc_appearances_pct": "appearances flagged (%)", "soc_cases_pct": "cases flagged (%)"}
    names |= {"soc_male_pct": "male (%)", "soc_mean_age": "mean age (years)"}
    for name, measure in names.items():
        value = METRICS[name](con)
        assert isinstance(value, Clustered)
        assert value == pytest.approx(shares[measure], abs=0.05)
    # one case of four flagged: sqrt(4/3 * (0.75^2 + 3 * 0.25^2)) / 4 = 0.25, 25 points
    assert METRICS["soc_cases_pct"](con).standard_error == pytest.approx(25.0)
    # one flagged case alone: no spread between cases to measure
    assert math.isnan(METRICS["soc_male_pct"](con).standard_error)


def test_ratio_error_counts_clusters_not_records():
    """Two clusters of two records each, all alike within a cluster: the error is that of two units, not four."""
    clustered = ratio_error(np.array([2.0, 0.0]), np.array([2.0, 2.0]))
    assert clustered == pytest.approx(100 * math.sqrt(2 * (1 + 1)) / 4)  # residuals 1 and -1, K/(K-1) = 2
    independent = ratio_error(np.array([1.0, 1.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0, 1.0]))
    assert clustered > independent
    assert math.isnan(ratio_error(np.array([1.0]), np.array([1.0])))
