"""Pathways through the system, on a tiny hand-made cohort whose stages and transitions are known."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from conftest import make_table
from sdfirst.exceptions import DataFirstError
from sdfirst.journeys.pathways import ARROW, pathways, sequences, stage_flows, transitions

MAGS = (
    "row_id_hash", "case_id_hash", "first_hearing_date", "breach_marker", "jsas_result_group_desc",
    "disposal_type", "disposal_date", "final_result_date",
)  # fmt: skip
CROWN = ("row_id_hash", "case_id_hash", "case_type", "outcome", "disposal_type", "sentence_date", "outcome_date",
         "receipt_date", "custody_length_days")  # fmt: skip
PRISON = ("row_id_hash", "journey_start_date", "first_release_date", "journey_end_date", "recall_count")
PROBATION = ("row_id_hash", "disposal_type_description", "referral_date", "recall_count")


def build(xjs: dict[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """Six people. A: fined. B: sent to the Crown Court, custody, prison, released, licence, recalled.
    C and G: community order and probation (C's second case of the year is ignored). E: only a breach case.
    F: acquitted. D: seen in 2015 only. ``xjs`` overrides the linkage output's person of some records."""
    con = duckdb.connect()
    for schema in ("magistrates", "crown_court", "prison", "probation", "linking"):
        con.execute(f"CREATE SCHEMA {schema}")
    make_table(con, "magistrates.case_summary", MAGS, [
        ("mA", "cA", "2016-03-01", "N", "Convicted", "Fine", "2016-03-20", "2016-03-20"),
        ("mB", "cB", "2016-02-01", "N", "Sent for trial", None, None, "2016-02-01"),
        ("mC", "cC", "2016-05-01", "N", "Convicted", "Community order", "2016-05-10", "2016-05-10"),
        ("mC2", "cC2", "2016-09-01", "N", "Convicted", "Fine", "2016-09-01", "2016-09-01"),
        ("mD", "cD", "2015-05-01", "N", "Convicted", "Fine", "2015-05-01", "2015-05-01"),
        ("mE", "cE", "2016-01-10", "Y", "Convicted", "Fine", "2016-01-10", "2016-01-10"),
        ("mF", "cF", "2016-04-01", "N", "Acquitted", None, None, "2016-06-01"),
        ("mG", "cG", "2016-07-01", "N", "Convicted", "Community order", "2016-07-01", "2016-07-01"),
    ])  # fmt: skip
    make_table(con, "crown_court.case_summary", CROWN, [
        ("kB", "xB", "Trial", "Convicted", "Immediate custody", "2016-06-01", "2016-05-20", "2016-02-20", 300),
    ])  # fmt: skip
    make_table(con, "prison.custodial_journey", PRISON, [("pB", "2016-06-01", "2016-09-01", "2017-01-01", 1)])
    make_table(con, "probation.flatfile", PROBATION, [
        ("sA", "Pre-Sentence Report", "2016-03-01", 0),
        ("sB", "ORA Adult Custody (inc PSS)", "2016-06-01", 1),
        ("sC", "ORA Community Order", "2016-05-10", 0),
        ("sG", "ORA Community Order", "2016-07-01", 0),
    ])  # fmt: skip
    person = {"mA": "A", "sA": "A", "mB": "B", "kB": "B", "pB": "B", "sB": "B", "mC": "C", "mC2": "C", "sC": "C",
              "mD": "D", "mE": "E", "mF": "F", "mG": "G", "sG": "G"}  # fmt: skip
    person.update(xjs or {})
    source = {"m": "mags_hocas", "k": "crown_xhibit", "p": "prison_nomis", "s": "probation_delius"}
    links = [(source[row[0]], row, p) for row, p in person.items()]
    make_table(con, "linking.xjs_link", ("source_dataset", "row_id_hash", "estimated_xjs_id"), links)
    make_table(con, "linking.mags_crown_journey", ("mags_case_id_hash", "crown_case_id_hash"), [("cB", "xB")])
    return con


@pytest.fixture
def paths() -> pd.DataFrame:
    return pathways(build(), 2016)


def test_cohort_is_each_persons_first_non_breach_case_of_the_year(paths):
    assert list(paths["person"]) == ["A", "B", "C", "F", "G"]
    assert paths.set_index("person").loc["C", "mags_case_id_hash"] == "cC"


def test_stages_of_each_person(paths):
    got = paths.set_index("person")[["court", "disposal", "prison", "probation", "recall"]]
    assert got.loc["A"].tolist() == ["Magistrates' court", "Fine", "No prison", "No probation", "Not recalled"]
    assert got.loc["B"].tolist() == ["Crown Court", "Custody", "Prison, released", "Probation", "Recalled"]
    assert got.loc["C"].tolist() == ["Magistrates' court", "Community order", "No prison", "Probation", "Not recalled"]
    assert got.loc["F", "disposal"] == "Not convicted"


def test_sequences_and_their_counts(paths):
    seq = sequences(paths, top=None).set_index("sequence")["people"].to_dict()
    assert seq == {
        ARROW.join(["Magistrates' court", "Community order", "Probation"]): 2,
        ARROW.join(["Magistrates' court", "Crown Court", "Custody", "Prison", "Released", "Probation", "Recalled"]): 1,
        ARROW.join(["Magistrates' court", "Fine"]): 1,
        ARROW.join(["Magistrates' court", "Not convicted"]): 1,
    }
    assert sequences(paths, top=1)["share"].tolist() == [0.4]


def test_transition_counts(paths):
    got = {(r.source, r.target): r.people for r in transitions(paths).itertuples()}
    assert got == {
        ("Magistrates' court", "Community order"): 2,
        ("Community order", "Probation"): 2,
        ("Magistrates' court", "Fine"): 1,
        ("Magistrates' court", "Not convicted"): 1,
        ("Magistrates' court", "Crown Court"): 1,
        ("Crown Court", "Custody"): 1,
        ("Custody", "Prison"): 1,
        ("Prison", "Released"): 1,
        ("Released", "Probation"): 1,
        ("Probation", "Recalled"): 1,
    }
    assert transitions(paths)["people"].iloc[0] == 2  # largest first


def test_stage_flows_between_adjacent_columns(paths):
    flows = stage_flows(paths, ["court", "disposal", "prison"])
    court = flows[flows["from_stage"] == "court"]
    assert court["people"].sum() == 5
    got = {(r.from_value, r.to_value): r.people for r in court.itertuples()}
    assert got == {
        ("Crown Court", "Custody"): 1,
        ("Magistrates' court", "Community order"): 2,
        ("Magistrates' court", "Fine"): 1,
        ("Magistrates' court", "Not convicted"): 1,
    }
    assert set(flows["from_stage"]) == {"court", "disposal"}


def test_a_missed_link_loses_the_stage(paths):
    """The pathway follows the linkage output: if B's prison record is not linked to B, B never reaches prison."""
    split = pathways(build(xjs={"pB": "B2"}), 2016).set_index("person")
    assert split.loc["B", "prison"] == "No prison"
    assert split.loc["B", "probation"] == "Probation"  # the licence is still linked
    assert paths.set_index("person").loc["B", "prison"] == "Prison, released"


def test_unknown_key_and_bad_year_are_refused():
    with pytest.raises(DataFirstError):
        pathways(build(), 2016, key="offender_id")
    with pytest.raises(DataFirstError):
        pathways(build(), "2016 OR TRUE")
