"""Measures under several person keys (sdfirst.journeys.sensitivity), on a hand-made events table.

Three true people. A: cases in 2011 and 2013, a community order in 2015, prison in 2016. B: a case in 2011, a
community order in 2015 and a civil case. C: a case in 2012 and prison in 2015. Under `missed` A's later records
(the 2013 case and the prison reception) are split off to a fragment A2 (a missed link); under `merged` B and C
are put together (a false link).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from sdfirst.exceptions import DataFirstError
from sdfirst.journeys import returned_pct
from sdfirst.journeys.sensitivity import across_keys, followed_by_pct, gaps, overlap_pct

EVENTS = [  # person_id, missed, merged, event_type, event_date, detail
    ("A", "A1", "A", "magistrates_case", "2011-03-01", "Theft"),
    ("A", "A2", "A", "magistrates_case", "2013-05-01", "Theft"),
    ("A", "A1", "A", "probation_start", "2015-01-10", "ORA Community Order"),
    ("A", "A2", "A", "prison_reception", "2016-02-01", None),
    ("B", "B", "BC", "magistrates_case", "2011-06-01", "Motoring"),
    ("B", "B", "BC", "probation_start", "2015-03-01", "CJA - Community Order"),
    ("B", "B", "BC", "civil_case", "2012-09-01", "Money claim"),
    ("C", "C", "BC", "magistrates_case", "2012-04-01", "Drugs"),
    ("C", "C", "BC", "prison_reception", "2015-06-01", None),
]
KEYS = ["person_id", "missed", "merged"]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    rows = [(*row[:4], date.fromisoformat(row[4]), f"r{i}", row[5]) for i, row in enumerate(EVENTS)]
    con.execute(
        "CREATE TABLE ev (person_id VARCHAR, missed VARCHAR, merged VARCHAR, event_type VARCHAR, event_date DATE, "
        "row_id_hash VARCHAR, detail VARCHAR)"
    )
    con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return con


def custody(con: duckdb.DuckDBPyConnection, key: str, days: int = 730) -> dict[str, float]:
    return followed_by_pct(
        con, "ev", key, "probation_start", "prison_reception", days, date(2014, 1, 1), date(2018, 12, 31),
        index_detail="community order",
    )  # fmt: skip


def test_followed_by_pct_missed_link_lowers_false_link_raises(con) -> None:
    assert custody(con, "person_id") == {"people": 2, "pct": 50.0}  # A followed by prison, B not
    assert custody(con, "missed") == {"people": 2, "pct": 0.0}  # A's prison is on the fragment A2
    assert custody(con, "merged") == {"people": 2, "pct": 100.0}  # B is lent C's prison reception


def test_followed_by_pct_window_and_detail(con) -> None:
    assert custody(con, "person_id", days=300) == {"people": 2, "pct": 0.0}  # A's prison came 387 days later
    none = followed_by_pct(
        con, "ev", "person_id", "probation_start", "prison_reception", 730, date(2014, 1, 1), date(2018, 12, 31),
        index_detail="suspended",
    )  # fmt: skip
    assert none == {"people": 0, "pct": None}


def test_overlap_pct(con) -> None:
    civil_criminal = ["magistrates_case", "prison_reception", "probation_start"]
    assert overlap_pct(con, "ev", "person_id", ["civil_case"], civil_criminal) == {"people": 1, "pct": 100.0}
    assert overlap_pct(con, "ev", "merged", ["prison_reception"], ["civil_case"]) == {"people": 2, "pct": 50.0}
    assert overlap_pct(con, "ev", "person_id", ["prison_reception"], ["civil_case"]) == {"people": 2, "pct": 0.0}
    with pytest.raises(DataFirstError):
        overlap_pct(con, "ev", "person_id", [], ["civil_case"])


def test_across_keys_and_gaps_on_the_hand_made_case(con) -> None:
    def measures(key: str) -> dict[str, float]:
        people = con.execute(f"SELECT count(DISTINCT {key}) FROM ev").fetchall()[0][0]
        return {"people": people, "returned_pct": returned_pct(con, "ev", key), "custody_pct": custody(con, key)["pct"]}

    table = across_keys(measures, KEYS)
    expected = pd.DataFrame(
        {"person_id": [3.0, 50.0, 50.0], "missed": [4.0, 0.0, 0.0], "merged": [2.0, 100.0, 100.0]},
        index=["people", "returned_pct", "custody_pct"],
    )
    pd.testing.assert_frame_equal(table.astype(float), expected)
    gap = gaps(table, "person_id").astype(float)
    assert list(gap.columns) == ["missed", "merged"]
    assert gap.loc["people"].tolist() == [1.0, -1.0]  # a missed link adds a person, a false link removes one
    assert gap.loc["returned_pct"].tolist() == [-50.0, 50.0]


def test_across_keys_refuses_mismatched_results() -> None:
    with pytest.raises(DataFirstError):
        across_keys(lambda key: {"a": 1} if key == "x" else {"b": 1}, ["x", "y"])
    with pytest.raises(DataFirstError):
        across_keys(lambda key: {"a": 1}, [])
    with pytest.raises(DataFirstError):
        gaps(pd.DataFrame({"x": [1]}), "truth")
