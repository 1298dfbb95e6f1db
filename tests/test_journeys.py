"""Person timelines and returning defendants (`sdfirst.journeys`): hand-made cases with known answers."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

import sdfirst
from sdfirst.calibration import courts
from sdfirst.exceptions import DataFirstError
from sdfirst.journeys import (
    ESTIMATED,
    TRUTH,
    Cohort,
    build_timeline,
    event_sources,
    person_summary,
    published_figures,
    return_rates_by_group,
    returned_by_year,
    returned_pct,
    returns_distribution,
    timeline_sql,
)
from sdfirst.journeys.returning import wilson_sql

# Magistrates' cases of four true people. A: first seen 2011 (theft), back in 2012 and 2015: two returns.
# B: first seen 2011, never back. C: first seen 2012, so not in the 2011 cohort. D: first seen 2011, back only in
# 2020, after the end of follow-up. The linkage splits A's 2015 case off as a new person (A2) and merges C's case
# into B's cluster, so on the estimated key A returned once and B once.
CASES = [
    # row_id_hash, first_hearing_date, offence_group, true person, estimated cluster
    ("m1", "2011-03-01", "Theft offences", 1, "A"),
    ("m2", "2012-05-01", "Theft offences", 1, "A"),
    ("m3", "2015-01-01", "Drug offences", 1, "A2"),
    ("m4", "2011-06-01", "Summary motoring", 2, "B"),
    ("m5", "2012-02-01", "Summary motoring", 3, "B"),
    ("m6", "2011-09-01", "Violence against the person", 4, "D"),
    ("m7", "2020-06-01", "Violence against the person", 4, "D"),
]


@pytest.fixture
def toy() -> duckdb.DuckDBPyConnection:
    """An in-memory database shaped like a linked folder: magistrates, prison and family tables, links, truth."""
    con = duckdb.connect()
    for schema in ("magistrates", "prison", "family", "linking", "truth"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(
        "CREATE TABLE magistrates.case_summary (row_id_hash VARCHAR, first_hearing_date DATE, offence_group VARCHAR)"
    )
    con.execute(
        "CREATE TABLE linking.xjs_link (source_dataset VARCHAR, row_id_hash VARCHAR, estimated_xjs_id VARCHAR, "
        "cluster_high VARCHAR, cluster_medium VARCHAR, cluster_low VARCHAR)"
    )
    con.execute(
        "CREATE TABLE truth.record_person (dataset VARCHAR, table_name VARCHAR, row_id_hash VARCHAR, person_id BIGINT)"
    )
    for row_id, day, group, person, cluster in CASES:
        con.execute("INSERT INTO magistrates.case_summary VALUES (?, ?, ?)", [row_id, day, group])
        con.execute("INSERT INTO linking.xjs_link VALUES ('mags_hocas', ?, ?, ?, ?, ?)", [row_id, *[cluster] * 4])
        con.execute("INSERT INTO truth.record_person VALUES ('magistrates', 'case_summary', ?, ?)", [row_id, person])
    # A's prison journey: a reception and a release. D's journey has not ended (no release event).
    con.execute(
        """CREATE TABLE prison.custodial_journey AS SELECT * FROM (VALUES
            ('p1', DATE '2012-06-01', DATE '2012-12-01', 'Theft offences', 0),
            ('p2', DATE '2020-07-01', NULL, 'Violence against the person', 0)
        ) AS t(row_id_hash, journey_start_date, journey_end_date, offence_group, recall_count)"""
    )
    # A family case with a person party (C) and a local authority party (not a person: no event).
    con.execute(
        """CREATE TABLE family.cases AS SELECT * FROM (VALUES ('f', 'Public law', DATE '2016-04-01'))
           AS t(case_number_hash, case_type, issue_date)"""
    )
    con.execute(
        """CREATE TABLE family.parties AS SELECT * FROM (VALUES
            ('q1', 'f', 'Person', 'respondent'), ('q2', 'f', 'Local authority', 'applicant')
        ) AS t(row_id_hash, case_number_hash, party_type, party_role)"""
    )
    for source, dataset, table, row_id, person, cluster in [
        ("prison_nomis", "prison", "custodial_journey", "p1", 1, "A"),
        ("prison_nomis", "prison", "custodial_journey", "p2", 4, "D"),
        ("familyman", "family", "parties", "q1", 3, "C"),
    ]:
        con.execute("INSERT INTO linking.xjs_link VALUES (?, ?, ?, ?, ?, ?)", [source, row_id, *[cluster] * 4])
        con.execute("INSERT INTO truth.record_person VALUES (?, ?, ?, ?)", [dataset, table, row_id, person])
    return con


def test_event_sources_read_from_yaml():
    sources = {s.event_type: s for s in event_sources()}
    assert {"magistrates_case", "crown_case", "prison_reception", "prison_release", "probation_start"} <= set(sources)
    assert sources["magistrates_case"].table == "magistrates.case_summary"
    assert sources["family_case"].join == {"table": "family.cases", "using": "case_number_hash"}
    with pytest.raises(DataFirstError, match="no event type"):
        event_sources(["no_such_event"])


def test_timeline_on_estimated_key(toy):
    rows = build_timeline(toy, ESTIMATED)
    # 7 magistrates' cases, 1 reception and 1 release for p1, 1 reception for p2, 1 family case (person only)
    assert rows == 11
    got = toy.execute(
        "SELECT estimated_xjs_id, event_type, event_date, detail FROM timeline WHERE estimated_xjs_id IN ('A', 'C')"
    ).fetchall()
    assert got == [
        ("A", "magistrates_case", date(2011, 3, 1), "Theft offences"),
        ("A", "magistrates_case", date(2012, 5, 1), "Theft offences"),
        ("A", "prison_reception", date(2012, 6, 1), "Theft offences"),
        ("A", "prison_release", date(2012, 12, 1), "recalls: 0"),
        ("C", "family_case", date(2016, 4, 1), "Public law (respondent)"),
    ]
    summary = person_summary(toy, "timeline", ESTIMATED)
    assert summary["people"] == 5  # A, A2, B, C, D
    assert summary["events"] == 11
    assert summary["max_events"] == 4


def test_timeline_on_truth_and_subset(toy):
    assert build_timeline(toy, TRUTH, table="truth_timeline", event_types=["magistrates_case"]) == 7
    people = toy.execute("SELECT person_id, count(*) FROM truth_timeline GROUP BY 1 ORDER BY 1").fetchall()
    assert people == [(1, 3), (2, 1), (3, 1), (4, 2)]


def test_timeline_keeps_unlinked_records_with_no_person(toy):
    toy.execute("INSERT INTO magistrates.case_summary VALUES ('m8', DATE '2013-01-01', 'Theft offences')")
    build_timeline(toy, ESTIMATED)
    assert toy.execute("SELECT row_id_hash FROM timeline WHERE estimated_xjs_id IS NULL").fetchall() == [("m8",)]


def test_timeline_bad_key_or_missing_linkage(toy):
    with pytest.raises(DataFirstError, match="person key"):
        timeline_sql(toy, "offender_id")
    toy.execute("DROP TABLE linking.xjs_link")
    with pytest.raises(DataFirstError, match="sdfirst link"):
        timeline_sql(toy, ESTIMATED)


def test_returning_on_truth(toy):
    build_timeline(toy, TRUTH)
    assert returned_pct(toy, "timeline", TRUTH) == pytest.approx(100 / 3)
    dist = returns_distribution(toy, "timeline", TRUTH)
    assert dist["returns"].tolist() == ["0", "1", "2 to 5", "6 or more"]
    assert dist["defendants"].tolist() == [2, 0, 1, 0]
    assert dist["pct"].tolist() == pytest.approx([200 / 3, 0, 100 / 3, 0])
    groups = return_rates_by_group(toy, "timeline", TRUTH)
    assert groups["first_group"].tolist() == ["Summary motoring", "Theft offences", "Violence against the person"]
    assert groups["defendants"].tolist() == [1, 1, 1]
    assert groups["returned"].tolist() == [0, 1, 0]
    assert groups["returned_pct"].tolist() == [0.0, 100.0, 0.0]
    # Wilson interval for 0 of 1 is 0 to z^2 / (1 + z^2), and for 1 of 1 its mirror image
    top = 100 * 1.96**2 / (1 + 1.96**2)
    assert groups["ci_low"].tolist() == pytest.approx([0, 100 - top, 0], abs=1e-9)
    assert groups["ci_high"].tolist() == pytest.approx([top, 100, top])
    by_year = returned_by_year(toy, "timeline", TRUTH)
    assert by_year["year"].tolist() == list(range(2011, 2020))
    assert by_year["returned_pct"].tolist() == pytest.approx([0] + [100 / 3] * 8)


def test_returning_on_estimated_key_shows_linkage_damage(toy):
    build_timeline(toy, ESTIMATED)
    # A lost a return to the split, B gained C's case by the merge: two of three returned once
    assert returned_pct(toy, "timeline", ESTIMATED) == pytest.approx(200 / 3)
    assert returns_distribution(toy, "timeline", ESTIMATED)["defendants"].tolist() == [1, 2, 0, 0]


def test_returning_cohort_and_follow_up(toy):
    build_timeline(toy, TRUTH)
    # followed to the end of 2020, D's 2020 case counts as a return
    assert returned_pct(toy, "timeline", TRUTH, Cohort(end=date(2020, 12, 31))) == pytest.approx(200 / 3)
    # first seen in 2012: only C (A and B were seen in 2011), who never returned
    assert returned_pct(toy, "timeline", TRUTH, Cohort(first_year=2012)) == 0


def test_first_group_tie_is_broken_by_row_id(toy):
    # a second case for B on the day of the first, with a smaller row id: its group becomes B's first group
    toy.execute("INSERT INTO magistrates.case_summary VALUES ('m0', DATE '2011-06-01', 'Robbery')")
    toy.execute("INSERT INTO truth.record_person VALUES ('magistrates', 'case_summary', 'm0', 2)")
    build_timeline(toy, TRUTH)
    groups = return_rates_by_group(toy, "timeline", TRUTH)
    assert "Robbery" in groups["first_group"].tolist()
    assert "Summary motoring" not in groups["first_group"].tolist()


def test_wilson_interval_known_value():
    # 8 of 10: the Wilson 95% interval is 49.0% to 94.3% (Wilson 1927; e.g. Newcombe 1998, method 3)
    low, high = wilson_sql("8", "10")
    got = duckdb.connect().execute(f"SELECT {low}, {high}").fetchall()[0]
    assert got == pytest.approx((49.02, 94.33), abs=0.01)


def test_published_figures_have_sources():
    published = published_figures()
    assert published["id"].tolist() == ["returned_by_2019", "returned_once", "returned_six_plus", "theft_returned"]
    assert published.set_index("id").loc["returned_by_2019", "published"] == 56
    assert published["source"].str.contains("returning defendants", case=False).all()


def test_timeline_on_generated_folder(generated):
    """On a real generated folder (truth key: the fixture is not linked), every event has a person, none before
    birth, and no record of a listed table is lost."""
    folder, _ = generated
    con = sdfirst.connect(folder)
    rows = build_timeline(con, TRUTH)
    expected = 0
    for source in event_sources():
        joined = f"JOIN {source.join['table']} j USING ({source.join['using']})" if source.join else ""
        where = f"AND {source.where}" if source.where else ""
        counted = f"count(DISTINCT rec.{source.one_per})" if source.one_per else "count(*)"  # repeats are one event
        expected += con.execute(
            f"SELECT {counted} FROM {source.table} rec {joined} WHERE {source.date} IS NOT NULL {where}"
        ).fetchall()[0][0]
    assert rows == expected > 0
    unmatched, before_birth = con.execute(
        """SELECT count(*) FILTER (WHERE p.person_id IS NULL),
                  count(*) FILTER (WHERE t.event_date < p.date_of_birth)
           FROM timeline t LEFT JOIN truth.people p USING (person_id)"""
    ).fetchall()[0]
    assert unmatched == 0
    assert before_birth == 0
    types = {r[0] for r in con.execute("SELECT DISTINCT event_type FROM timeline").fetchall()}
    assert {"magistrates_case", "prison_reception", "probation_start", "family_case", "civil_case"} <= types
    # the calibration's returning-defendants figure is the journeys measure on the truth
    assert courts.returned_pct(con) == pytest.approx(returned_pct(con, "timeline", TRUTH))


def test_person_keys_under_every_key_and_the_truth(toy):
    from sdfirst.journeys.pathways import person_keys_sql
    from sdfirst.journeys.timeline import source_person_keys_sql

    def keys(sql: str) -> list[tuple]:
        return toy.execute(f"SELECT * FROM ({sql}) ORDER BY row_id_hash").fetchall()

    sources = ["mags_hocas", "prison_nomis", "familyman"]
    linked = keys(source_person_keys_sql(ESTIMATED, sources))
    assert linked[0] == ("mags_hocas", "m1", "A") and ("familyman", "q1", "C") in linked and len(linked) == 10
    assert keys(source_person_keys_sql("cluster_low", sources)) == linked  # the toy's clusters agree at every level
    truth = keys(source_person_keys_sql(TRUTH, sources))
    assert ("prison_nomis", "p2", "4") in truth and ("familyman", "q1", "3") in truth and len(truth) == 10
    # the pathways' keys: only the criminal sources
    assert {row[0] for row in keys(person_keys_sql("cluster_high"))} == {"mags_hocas", "prison_nomis"}
    with pytest.raises(DataFirstError, match="unknown linkage source 'nope'"):
        source_person_keys_sql(ESTIMATED, ["nope"])
    with pytest.raises(DataFirstError, match="person key must be one of"):
        person_keys_sql("row_id_hash")


def test_a_repeated_probation_event_is_one_event(generated):
    """The flat file repeats some events under a second row_id_hash; the timeline keeps one start and one end each."""
    con = sdfirst.connect(generated[0])
    build_timeline(con, TRUTH, table="timeline_once")

    def count(sql: str) -> int:
        return con.execute(sql).fetchall()[0][0]

    starts = count("SELECT count(*) FROM timeline_once WHERE event_type = 'probation_start'")
    events = count("SELECT count(DISTINCT event_id_hash) FROM probation.flatfile")
    assert starts == events < count("SELECT count(*) FROM probation.flatfile")
