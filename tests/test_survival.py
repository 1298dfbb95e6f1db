"""Time to re-entry, on tiny hand-made tables where the time at risk and the censoring are known."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from conftest import make_table
from sdfirst.journeys.survival import (
    at_risk,
    coverage_end,
    cox_model,
    hazard_ratios,
    kaplan_meier,
    survival_at,
    survival_table,
)

MAGS = ("row_id_hash", "first_hearing_date", "breach_marker", "disposal_type", "disposal_date", "custody_length_days",
        "age_at_hearing", "sex", "offence_group", "offence_date")  # fmt: skip
CROWN = ("row_id_hash", "disposal_type", "sentence_date", "custody_length_days", "age_at_receipt", "sex",
         "offence_group", "offence_date")  # fmt: skip
PRISON = ("row_id_hash", "journey_start_date", "first_release_date", "journey_end_date", "first_recall_date")
END = "2016-06-01"


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    """P1: 200 days' custody, out after 100, a new offence heard 30 days after release (cases heard in custody, or
    for offences before release, do not count). P2: community order, nothing after: censored. P3: community order
    at the Crown Court, received into prison 30 days later. P4: long custody, P5: a youth (both left out). P6: short
    custody with no linked prison journey. P7: community order followed only by a breach case (not re-entry). P8:
    short custody, out on 10 March, recalled on 1 May, then a new offence heard in August: censored at the recall."""
    con = duckdb.connect()
    for schema in ("magistrates", "crown_court", "prison", "linking"):
        con.execute(f"CREATE SCHEMA {schema}")
    make_table(con, "magistrates.case_summary", MAGS, [
        ("m1", "2014-11-01", "N", "Immediate custody", "2015-01-01", 200, 30, "M", "Theft offences", "2014-10-01"),
        ("m1a", "2015-02-01", "N", "Fine", "2015-02-01", None, 30, "M", "Theft offences", "2015-01-15"),
        ("m1b", "2015-04-20", "N", "Fine", "2015-04-20", None, 30, "M", "Theft offences", "2015-03-01"),
        ("m1c", "2015-05-11", "N", "Fine", "2015-05-11", None, 30, "M", "Theft offences", "2015-05-01"),
        ("m2", "2015-05-01", "N", "Community order", "2015-06-01", None, 40, "F", "Fraud offences", "2015-04-01"),
        ("m4", "2015-01-01", "N", "Immediate custody", "2015-01-10", 400, 25, "M", "Robbery", "2014-12-01"),
        ("m5", "2015-01-01", "N", "Community order", "2015-01-10", None, 17, "M", "Robbery", "2014-12-01"),
        ("m6", "2015-01-01", "N", "Immediate custody", "2015-01-10", 90, 50, "M", "Theft offences", "2014-12-01"),
        ("m7", "2015-01-01", "N", "Community order", "2015-01-10", None, 22, "M", "Drug offences", "2014-12-01"),
        ("m7b", "2015-06-01", "Y", "Fine", "2015-06-01", None, 22, "M", "Drug offences", "2015-05-01"),
        ("m8", "2015-01-10", "N", "Immediate custody", "2015-01-10", 120, 33, "M", "Theft offences", "2014-12-20"),
        ("m8b", "2015-08-01", "N", "Fine", "2015-08-01", None, 33, "M", "Theft offences", "2015-07-01"),
    ])  # fmt: skip
    make_table(con, "crown_court.case_summary", CROWN, [
        ("k3", "Community order", "2015-02-01", None, 35, "M", "Violence against the person", "2014-09-01"),
    ])  # fmt: skip
    make_table(con, "prison.custodial_journey", PRISON, [
        ("p1", "2015-01-01", "2015-04-11", "2015-04-11", None),
        ("p3", "2015-03-03", "2015-04-01", "2015-04-01", None),
        ("p4", "2015-01-10", "2015-07-10", "2015-07-10", None),
        ("p8", "2015-01-10", "2015-03-10", "2015-06-01", "2015-05-01"),
    ])  # fmt: skip
    person = {"m1": "P1", "m1a": "P1", "m1b": "P1", "m1c": "P1", "p1": "P1", "m2": "P2", "k3": "P3", "p3": "P3",
              "m4": "P4", "p4": "P4", "m5": "P5", "m6": "P6", "m7": "P7", "m7b": "P7", "m8": "P8", "m8b": "P8",
              "p8": "P8"}  # fmt: skip
    source = {"m": "mags_hocas", "k": "crown_xhibit", "p": "prison_nomis"}
    links = [(source[row[0]], row, p) for row, p in person.items()]
    make_table(con, "linking.xjs_link", ("source_dataset", "row_id_hash", "estimated_xjs_id"), links)
    return con


@pytest.fixture(scope="module")
def table(con) -> pd.DataFrame:
    return survival_table(con, "2015-01-01", "2015-12-31", end=END).set_index("person")


def test_cohort_is_adult_community_orders_and_short_custody(table):
    assert sorted(table.index) == ["P1", "P2", "P3", "P6", "P7", "P8"]
    assert table.loc["P1", "disposal"] == "Short custody"
    assert table.loc["P3", "disposal"] == "Community order"  # sentenced at the Crown Court


def test_a_recall_stops_the_clock(table):
    """Out for 52 days before a recall to prison: censored there, so the case heard after it is not re-entry."""
    assert table.loc["P8", "event"] == 0
    assert table.loc["P8", "days_at_risk"] == 52
    assert str(table.loc["P8", "recall_date"])[:10] == "2015-05-01"


def test_time_in_custody_is_not_time_at_risk(table):
    """In custody for 100 days, then a new offence heard 30 days after release: 30 days at risk, and an event."""
    row = table.loc["P1"]
    assert row["clock_start"] == pd.Timestamp("2015-04-11")
    assert row["days_at_risk"] == 30
    assert row["event"] == 1
    assert row["previous_cases"] == 0


def test_censoring_at_the_end_of_coverage(table):
    row = table.loc["P2"]
    assert row["event"] == 0
    assert row["end_date"] == pd.Timestamp(END)
    assert row["days_at_risk"] == (dt.date(2016, 6, 1) - dt.date(2015, 6, 1)).days == 366


def test_prison_reception_is_re_entry_and_breach_is_not(table):
    assert (table.loc["P3", "days_at_risk"], table.loc["P3", "event"]) == (30, 1)
    assert table.loc["P7", "event"] == 0


def test_custody_without_a_linked_prison_journey_has_no_time_at_risk(table):
    assert not table.loc["P6", "prison_found"]
    assert pd.isna(table.loc["P6", "clock_start"])
    assert sorted(at_risk(table.reset_index())["person"]) == ["P1", "P2", "P3", "P7", "P8"]


def test_fixed_follow_up_censors_earlier(con):
    short = survival_table(con, "2015-01-01", "2015-12-31", end=END, follow_up_days=200).set_index("person")
    assert (short.loc["P2", "days_at_risk"], short.loc["P2", "event"]) == (200, 0)
    assert (short.loc["P1", "days_at_risk"], short.loc["P1", "event"]) == (30, 1)


def test_coverage_end_is_the_earliest_of_the_sources():
    """The magistrates' data are complete until they fall away, before the prison data end (synthetic/datasets/)."""
    prison, mags = coverage_end(("prison",)), coverage_end(("magistrates",))
    assert coverage_end(("magistrates", "prison")) == mags < prison


def test_kaplan_meier_by_hand():
    """Times 1, 2, 3 (censored), 4: S(1) = 3/4, S(2) = 3/4 x 2/3 = 1/2, S(3) = 1/2, S(4) = 0."""
    table = pd.DataFrame({"disposal": ["a"] * 4, "days_at_risk": [1, 2, 3, 4], "event": [1, 1, 0, 1]})
    got = survival_at(kaplan_meier(table), [0, 1, 2, 3, 4]).set_index("days")
    assert got["survival"].tolist() == pytest.approx([1.0, 0.75, 0.5, 0.5, 0.0])
    assert got["at_risk"].tolist() == [4, 4, 3, 2, 1]


def test_cox_recovers_a_known_hazard_ratio():
    """Exponential times with a hazard twice as high after short custody: the estimated ratio is close to 2."""
    rng = np.random.default_rng(1)
    n = 4000
    custody = rng.random(n) < 0.5
    age = rng.integers(18, 60, n)
    times = rng.exponential(1 / (0.002 * np.where(custody, 2.0, 1.0)))
    censor = 700.0
    table = pd.DataFrame(
        {
            "disposal": np.where(custody, "Short custody", "Community order"),
            "days_at_risk": np.minimum(times, censor),
            "event": (times <= censor).astype(int),
            "age": age,
        }
    )
    ratios = hazard_ratios(cox_model(table, covariates=("age",))).set_index("term")
    assert ratios.loc["disposal: Short custody", "hazard_ratio"] == pytest.approx(2.0, rel=0.1)
    assert ratios.loc["age", "hazard_ratio"] == pytest.approx(1.0, abs=0.01)
    assert ratios.loc["disposal: Short custody", "ci_lower"] < 2.0 < ratios.loc["disposal: Short custody", "ci_upper"]
