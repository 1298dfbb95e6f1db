"""Calibration metrics for the criminal courts: volumes and returning defendants (MoJ 2022)."""

from __future__ import annotations

import duckdb

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
