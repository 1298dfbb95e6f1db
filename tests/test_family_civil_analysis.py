"""People in the family and civil courts (`sdfirst.journeys.roles`): tiny hand-made tables with known answers."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from sdfirst.journeys import ESTIMATED, TRUTH, build_timeline, roles

# Family cases F1 (divorce, 2012) and F2 (Family Law Act, 2015); civil claim C1 (money claim, 2014).
FAMILY_CASES = [("F1", "Divorce", date(2012, 1, 1)), ("F2", "Family Law Act", date(2015, 1, 1))]
CIVIL_CASES = [("C1", "Money claim - specified", date(2014, 1, 1))]
# Parties: (row, case, role, type, forename, surname, date of birth, sex, postcode).
# Person X is the divorce respondent, the Family Law Act respondent and the money-claim defendant; Y is the divorce
# applicant; Z the Family Law Act applicant; a council and a company are parties but not people.
FAMILY_PARTIES = [
    ("fp1", "F1", "applicant", "Person", "Ann", "Bell", date(1980, 1, 1), "F", "AB1 2CD"),
    ("fp2", "F1", "respondent", "Person", "Bob", "Bell", None, "M", None),
    ("fp3", "F2", "respondent", "Person", "Bob", "Bell", None, "M", "AB1 2CD"),
    ("fp4", "F2", "applicant", "Person", "Cat", "Dean", date(1985, 5, 5), "F", None),
    ("fp5", "F2", "applicant", "Local authority", None, None, None, None, None),
]
CIVIL_PARTIES = [
    ("cp1", "C1", "Defendant", "Person", None, "Bell", None, None, "AB1 2CD"),
    ("cp2", "C1", "Claimant", "Company", None, None, None, None, "ZZ1 1ZZ"),
]
# Magistrates' cases: X in 2013 (between the divorce and the claim), Z in 2016 (after the Family Law Act case).
MAGS = [("m1", date(2013, 6, 1), "Theft offences"), ("m2", date(2016, 6, 1), "Violence against the person")]
# Linkage output and truth. The linkage missed the link from cp1 to X (a new cluster K4) and falsely put Z's
# magistrates' case m2 with Y.
LINKS = [
    ("familyman", "fp1", "K1", 2),
    ("familyman", "fp2", "K2", 1),
    ("familyman", "fp3", "K2", 1),
    ("familyman", "fp4", "K3", 3),
    ("civil_caseman_pcol", "cp1", "K4", 1),
    ("mags_hocas", "m1", "K2", 1),
    ("mags_hocas", "m2", "K1", 3),
]
TRUTH_TABLES = {"familyman": ("family", "parties"), "civil_caseman_pcol": ("civil", "parties")}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for schema in ("family", "civil", "magistrates", "linking", "truth"):
        con.execute(f"CREATE SCHEMA {schema}")
    party_columns = (
        "row_id_hash VARCHAR, case_number_hash VARCHAR, party_role VARCHAR, party_type VARCHAR, forename VARCHAR,"
        " surname VARCHAR, date_of_birth DATE, sex VARCHAR, postcode VARCHAR"
    )
    con.execute("CREATE TABLE family.cases (case_number_hash VARCHAR, case_type VARCHAR, issue_date DATE)")
    con.execute("CREATE TABLE civil.cases (case_number_hash VARCHAR, claim_type VARCHAR, issue_date DATE)")
    con.execute(f"CREATE TABLE family.parties ({party_columns})")
    con.execute(f"CREATE TABLE civil.parties ({party_columns})")
    con.executemany("INSERT INTO family.cases VALUES (?, ?, ?)", FAMILY_CASES)
    con.executemany("INSERT INTO civil.cases VALUES (?, ?, ?)", CIVIL_CASES)
    con.executemany("INSERT INTO family.parties VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", FAMILY_PARTIES)
    con.executemany("INSERT INTO civil.parties VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", CIVIL_PARTIES)
    con.execute(
        "CREATE TABLE magistrates.case_summary (row_id_hash VARCHAR, first_hearing_date DATE, offence_group VARCHAR)"
    )
    con.executemany("INSERT INTO magistrates.case_summary VALUES (?, ?, ?)", MAGS)
    con.execute(
        "CREATE TABLE linking.xjs_link (source_dataset VARCHAR, row_id_hash VARCHAR, estimated_xjs_id VARCHAR,"
        " cluster_high VARCHAR, cluster_medium VARCHAR, cluster_low VARCHAR)"
    )
    con.executemany(
        "INSERT INTO linking.xjs_link VALUES (?, ?, ?, ?, ?, ?)", [(s, r, k, k, k, k) for s, r, k, _ in LINKS]
    )
    con.execute(
        "CREATE TABLE truth.record_person (dataset VARCHAR, table_name VARCHAR, row_id_hash VARCHAR, person_id BIGINT)"
    )
    tables = {**TRUTH_TABLES, "mags_hocas": ("magistrates", "case_summary")}
    con.executemany("INSERT INTO truth.record_person VALUES (?, ?, ?, ?)", [(*tables[s], r, p) for s, r, _, p in LINKS])
    return con


def test_parties_carry_role_and_case_type(con):
    assert roles.build_parties(con) == 5  # the council and the company are not people
    rows = con.execute(
        "SELECT row_id_hash, estimated_xjs_id, court, case_type, role, event_date FROM parties ORDER BY row_id_hash"
    ).fetchall()
    assert rows[0] == ("cp1", "K4", "civil", "Money claim - specified", "defendant", date(2014, 1, 1))
    assert rows[2] == ("fp2", "K2", "family", "Divorce", "respondent", date(2012, 1, 1))


def test_missingness_by_role(con):
    table = roles.missingness_by_role(con).set_index(["court", "role"])
    assert table.loc[("family", "respondent"), "records"] == 2
    assert table.loc[("family", "respondent"), "date_of_birth_missing_pct"] == 100.0
    assert table.loc[("family", "respondent"), "postcode_missing_pct"] == 50.0
    assert table.loc[("family", "applicant"), "postcode_missing_pct"] == 50.0
    assert table.loc[("civil", "defendant"), "forename_missing_pct"] == 100.0
    assert ("civil", "claimant") not in table.index  # the claimant is a company


def test_cases_and_roles_per_person(con):
    roles.build_parties(con)
    cases = roles.cases_per_person(con).set_index(["court", "cases"])["people"].to_dict()
    assert cases == {("civil", "1"): 1, ("family", "1"): 2, ("family", "2"): 1}
    combos = roles.role_combinations(con).set_index("roles")["people"].to_dict()
    assert combos == {"civil defendant": 1, "family applicant": 2, "family respondent": 1}
    build_timeline(con, TRUTH, table="truth_timeline")
    roles.build_parties(con, TRUTH, table="truth_parties", timeline="truth_timeline")
    truth_combos = roles.role_combinations(con, "truth_parties", TRUTH).set_index("roles")["people"].to_dict()
    assert truth_combos == {"civil defendant + family respondent": 1, "family applicant": 2}


def test_criminal_overlap_and_order(con):
    build_timeline(con, ESTIMATED)
    roles.build_parties(con, timeline="timeline")
    by_role = roles.criminal_overlap(con, by=("court", "role")).set_index(["court", "role"])
    # family applicants K1 (Y, falsely given Z's 2016 case) and K3 (Z, whose case was linked away): 1 of 2
    assert by_role.loc[("family", "applicant"), "criminal_pct"] == 50.0
    assert by_role.loc[("family", "applicant"), "criminal_after_pct"] == 50.0
    # the respondent K2 (X): first family case 2012, magistrates 2013: after
    assert by_role.loc[("family", "respondent"), "criminal_after_pct"] == 100.0
    assert by_role.loc[("civil", "defendant"), "criminal"] == 0  # the missed link
    years = roles.years_from_case_to_criminal(con, court="family").set_index(ESTIMATED)["years"].to_dict()
    assert years == {"K1": 4.4, "K2": 1.4}


def test_criminal_overlap_on_the_truth(con):
    build_timeline(con, TRUTH, table="truth_timeline")
    roles.build_parties(con, TRUTH, table="truth_parties", timeline="truth_timeline")
    by_court = roles.criminal_overlap(con, "truth_parties", "truth_timeline", TRUTH, by=("court",))
    by_court = by_court.set_index("court")
    assert by_court.loc["civil", "criminal_before_pct"] == 100.0  # X's 2013 case came before the 2014 claim
    assert by_court.loc["family", "criminal_pct"] == pytest.approx(200 / 3, abs=0.05)  # X and Z of X, Y, Z


def test_criminal_link_quality(con):
    quality = roles.criminal_link_quality(con).set_index(["court", "role"])
    assert quality.loc[("civil", "defendant"), "truly_criminal"] == 1
    assert quality.loc[("civil", "defendant"), "found"] == 0
    assert quality.loc[("civil", "defendant"), "recall_pct"] == 0.0
    # fp1 (Y) is falsely linked to Z's case; fp4 (Z) is truly criminal but its case was linked away
    assert quality.loc[("family", "applicant"), "false_link"] == 1
    assert quality.loc[("family", "applicant"), "truly_criminal"] == 1
    assert quality.loc[("family", "applicant"), "found"] == 0
    assert quality.loc[("family", "respondent"), "recall_pct"] == 100.0


def test_unknown_court(con):
    with pytest.raises(ValueError, match="court must be"):
        roles.years_from_case_to_criminal(con, court="crown")
