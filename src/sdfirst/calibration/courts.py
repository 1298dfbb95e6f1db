"""Calibration metrics for the criminal courts: volumes and returning defendants (MoJ 2022), the national trend, the
Crown Court's ethnic mix and the unadjusted ethnic disparity in custody (MoJ's statistics on ethnicity and the justice
system), and serious and organised crime in the Crown Court (McSweeney 2023)."""

from __future__ import annotations

import duckdb
import pandas as pd

from sdfirst.analysis.soc import SocCriteria, soc_cases_sql
from sdfirst.calibration import Clustered, Share, metric
from sdfirst.calibration.noise import ratio_error
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


def _mags_records_in(con, year: int) -> int:
    sql = "SELECT count(*) FROM magistrates.case_summary WHERE year(first_hearing_date) = ?"
    return con.execute(sql, [year]).fetchone()[0]


def _mags_ratio(con, year: int, base: int) -> float:
    """Magistrates' court defendant records first heard in one year per 100 in another: the national trend."""
    before = _mags_records_in(con, base)
    return 100 * _mags_records_in(con, year) / before if before else float("nan")


@metric("mags_2020_per_100_2019")
def mags_2020_per_100_2019(con) -> float:
    return _mags_ratio(con, 2020, 2019)


@metric("mags_2019_per_100_2016")
def mags_2019_per_100_2016(con) -> float:
    return _mags_ratio(con, 2019, 2016)


#: The Crown Court receipts whose ethnic mix is compared with MoJ's shares of defendants prosecuted.
_CROWN_YEARS = (2013, 2020)


def _crown_share(con, group: str) -> float:
    """Share (%) of Crown Court defendant records received in 2013-2020 whose true person is of a broad ethnic
    group. The true group is used (the published shares are of defendants whose ethnicity is known), so recording
    errors in the Crown Court's own ethnicity column do not blur the simulation's mix."""
    first, last = _CROWN_YEARS
    sql = f"""
        SELECT 100 * avg((t.ethnic_group = ?)::INT)
        FROM crown_court.case_summary c
        JOIN truth.record_person r ON r.dataset = 'crown_court' AND r.table_name = 'case_summary'
            AND r.row_id_hash = c.row_id_hash
        JOIN truth.people t USING (person_id)
        WHERE year(c.receipt_date) BETWEEN {first} AND {last}
    """
    return con.execute(sql, [group]).fetchone()[0]


@metric("crown_white_pct")
def crown_white_pct(con) -> float:
    return _crown_share(con, "White")


@metric("crown_black_pct")
def crown_black_pct(con) -> float:
    return _crown_share(con, "Black")


@metric("crown_asian_pct")
def crown_asian_pct(con) -> float:
    return _crown_share(con, "Asian")


def _custody_rate_ratio(con, group: str) -> float:
    """Custody rate (share of sentences that are immediate custody) of a broad ethnic group over White's, for
    indictable and either-way offences at both courts, as MoJ's custody rate for indictable offences is defined:
    the unadjusted disparity, before offence, record or remand are taken into account."""
    sql = """
        WITH sentenced AS (
            SELECT 'magistrates' AS dataset, 'case_summary' AS table_name, row_id_hash, disposal_type
            FROM magistrates.case_summary
            WHERE proceedings_type_desc IN ('Indictable only', 'Triable either way') AND disposal_type IS NOT NULL
            UNION ALL
            SELECT 'crown_court', 'case_summary', row_id_hash, disposal_type FROM crown_court.case_summary
            WHERE case_type IN ('Trial', 'Sentence') AND disposal_type IS NOT NULL
        ),
        rates AS (
            SELECT t.ethnic_group, avg((s.disposal_type = 'Immediate custody')::INT) AS rate
            FROM sentenced s
            JOIN truth.record_person r USING (dataset, table_name, row_id_hash)
            JOIN truth.people t USING (person_id)
            GROUP BY 1
        )
        SELECT (SELECT rate FROM rates WHERE ethnic_group = ?) / (SELECT rate FROM rates WHERE ethnic_group = 'White')
    """
    value = con.execute(sql, [group]).fetchone()[0]
    return float("nan") if value is None else value


@metric("custody_ratio_black_white")
def custody_ratio_black_white(con) -> float:
    return _custody_rate_ratio(con, "Black")


@metric("custody_ratio_asian_white")
def custody_ratio_asian_white(con) -> float:
    return _custody_rate_ratio(con, "Asian")


def _soc_cases(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per Crown Court trial or sentence case, flagged with the serious and organised crime criteria as the
    SOC chapter applies them (`sdfirst.analysis.soc.soc_cases_sql`: co-defendants, three years' immediate custody,
    offence type): soc (0/1), appearances, men and appearances of known sex (sex as recorded), and the sum and count
    of known ages at receipt. No person key is needed: the flag is built within the Crown Court data."""
    return con.execute(
        f"""SELECT any_value(k.soc::INT) AS soc, count(*) AS appearances, coalesce(sum((c.sex = 'M')::INT), 0) AS men,
                   count(c.sex) AS sexes, coalesce(sum(c.age_at_receipt), 0) AS age_sum, count(c.age_at_receipt) AS ages
            FROM crown_court.case_summary c JOIN ({soc_cases_sql(SocCriteria())}) k USING (case_id_hash)
            WHERE c.case_type IN ('Trial', 'Sentence')
            GROUP BY case_id_hash ORDER BY case_id_hash"""
    ).df()


def _ratio(numerators: pd.Series, denominators: pd.Series, scale: float = 100.0) -> Clustered:
    """A ratio of totals over cases, with its standard error over the cases (defendants of a case are not
    independent: they share its flag, and random groups of people would split them)."""
    total = float(denominators.sum())
    value = scale * float(numerators.sum()) / total if total else None
    return Clustered(value, ratio_error(numerators.to_numpy(), denominators.to_numpy(), scale))


@metric("soc_appearances_pct")
def soc_appearances_pct(con) -> Clustered:
    cases = _soc_cases(con)
    return _ratio(cases.soc * cases.appearances, cases.appearances)


@metric("soc_cases_pct")
def soc_cases_pct(con) -> Clustered:
    cases = _soc_cases(con)
    return _ratio(cases.soc, pd.Series(1.0, index=cases.index))


@metric("soc_male_pct")
def soc_male_pct(con) -> Clustered:
    flagged = _soc_cases(con).query("soc == 1")
    return _ratio(flagged.men, flagged.sexes)  # sex as recorded, where it is


@metric("soc_mean_age")
def soc_mean_age(con) -> Clustered:
    flagged = _soc_cases(con).query("soc == 1")
    return _ratio(flagged.age_sum, flagged.ages, scale=1.0)


@metric("crown_male_pct")
def crown_male_pct(con) -> float:
    """Men among the defendants (appearances) of Crown Court trial and sentence cases, sex as recorded."""
    sql = "SELECT 100 * avg((sex = 'M')::INT) FROM crown_court.case_summary WHERE case_type IN ('Trial', 'Sentence')"
    return con.execute(sql).fetchone()[0]
