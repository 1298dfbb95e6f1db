"""Calibration metrics for the criminal courts: volumes and returning defendants (MoJ 2022), and serious and
organised crime in the Crown Court (McSweeney 2023)."""

from __future__ import annotations

import duckdb

from sdfirst.analysis.soc import SocCriteria, build_soc_frame, soc_shares
from sdfirst.calibration import Share, metric
from sdfirst.journeys.returning import returns_sql
from sdfirst.journeys.timeline import TRUTH, event_sources, event_sql


def _people(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM truth.people").fetchone()[0]


def _per_1000(con, sql: str, years: int) -> float:
    return 1000 * con.execute(sql).fetchone()[0] / years / _people(con)


@metric("mags_records_per_1000")
def mags_records_per_1000(con) -> float:
    sql = "SELECT count(*) FROM magistrates.case_summary WHERE year(first_hearing_date) BETWEEN 2011 AND 2020"
    return _per_1000(con, sql, 10)


@metric("crown_records_per_1000")
def crown_records_per_1000(con) -> float:
    sql = "SELECT count(*) FROM crown_court.case_summary WHERE year(receipt_date) BETWEEN 2013 AND 2020"
    return _per_1000(con, sql, 8)


@metric("crown_per_100_mags_2020")
def crown_per_100_mags_2020(con) -> float:
    crown = con.execute(
        "SELECT count(DISTINCT case_id_hash) FROM crown_court.case_summary WHERE year(receipt_date) = 2020"
    ).fetchone()[0]
    mags = con.execute(
        "SELECT count(DISTINCT case_id_hash) FROM magistrates.case_summary WHERE year(first_hearing_date) = 2020"
    ).fetchone()[0]
    return 100 * crown / mags if mags else float("nan")


def _returns(con, condition: str, where: str = "TRUE") -> Share:
    """Share (%) of defendants first seen in 2011 meeting a condition on their number of returns by December 2019.

    The true person is used here, as MoJ used its linked person id: this measures the simulation itself. The
    measure is the course's own (`sdfirst.journeys.returning`), run on the magistrates' cases of the truth.
    """
    cases = f"({event_sql(event_sources(['magistrates_case'])[0], TRUTH)})"  # a missing table: CatalogException
    sql = (
        f"SELECT 100 * avg(CASE WHEN {condition} THEN 1 ELSE 0 END), count(*) "
        f"FROM ({returns_sql(cases, TRUTH)}) WHERE {where}"
    )
    return Share(*con.execute(sql).fetchone())  # one row per defendant: a share of people


@metric("returned_pct")
def returned_pct(con) -> Share:
    return _returns(con, "returns >= 1")


@metric("returned_once_pct")
def returned_once_pct(con) -> Share:
    return _returns(con, "returns = 1")


@metric("returned_six_plus_pct")
def returned_six_plus_pct(con) -> Share:
    return _returns(con, "returns >= 6")


@metric("theft_returned_pct")
def theft_returned_pct(con) -> Share:
    return _returns(con, "returns >= 1", "first_group = 'Theft offences'")


def _soc_measure(con, measure: str) -> float:
    """One of the serious and organised crime study's headline measures, with the criteria as the SOC chapter
    applies them (`sdfirst.analysis.soc`: co-defendants, three years' immediate custody, offence type) to every
    Crown Court trial and sentence case. No person key is needed (the flag is built within the Crown Court data),
    so the truth's is used."""
    build_soc_frame(con, SocCriteria(), key=TRUTH, table="calibration_soc")
    value = soc_shares(con, "calibration_soc").set_index("measure").loc[measure, "synthetic"]
    return float("nan") if value is None else float(value)


@metric("soc_appearances_pct")
def soc_appearances_pct(con) -> float:
    return _soc_measure(con, "appearances flagged (%)")


@metric("soc_cases_pct")
def soc_cases_pct(con) -> float:
    return _soc_measure(con, "cases flagged (%)")


@metric("soc_male_pct")
def soc_male_pct(con) -> float:
    return _soc_measure(con, "male (%)")


@metric("soc_mean_age")
def soc_mean_age(con) -> float:
    return _soc_measure(con, "mean age (years)")


@metric("crown_male_pct")
def crown_male_pct(con) -> float:
    """Men among the defendants (appearances) of Crown Court trial and sentence cases, sex as recorded."""
    sql = "SELECT 100 * avg((sex = 'M')::INT) FROM crown_court.case_summary WHERE case_type IN ('Trial', 'Sentence')"
    return con.execute(sql).fetchone()[0]
