"""Serious and organised crime in the Crown Court: a case flag from co-defendants, sentence length and offence type.

After the MoJ Data First study of serious and organised crime (2023), which flagged Crown Court cases with
co-defendants, a minimum custodial sentence of three years and signs of planning, and found that 6% of appearances
and 3% of cases met the criteria. Planning is not recorded in a column; an offence type typical of organised crime
stands in for it here (a choice the researcher makes and should report).

Co-defendants are defendants of one case: in the Crown Court data they are separate `case_summary` rows that share
`case_id_hash`, and each row's `number_of_defendants` counts them. The flag is a property of the case, and every
defendant row ("appearance") of a flagged case is a flagged appearance. Outcomes are compared per appearance:
custody, sentence length, and re-entry (a new magistrates' case for an offence committed within a follow-up after
the sentence, or after the estimated release for custody), which needs a person key across the two datasets: the
linkage output (`estimated_xjs_id`) or, to measure linkage error, the truth.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from sdfirst.journeys.pathways import ESTIMATED, mags_cases_sql, person_keys_sql
from sdfirst.journeys.survival import coverage_end
from sdfirst.journeys.timeline import check_identifier
from sdfirst.specs import load_yaml
from sdfirst.stats import iso_date

#: Offence groups of the synthetic data typical of organised crime (drug supply, robbery, weapons, fraud and
#: organised acquisitive crime): a stand-in for the study's "planning" criterion, this project's choice.
SOC_OFFENCE_GROUPS = ("Drug offences", "Fraud offences", "Possession of weapons", "Robbery", "Theft offences")
#: Three years, in days.
THREE_YEARS_DAYS = 1095
#: Share of an immediate custodial sentence served before release (automatic release at the halfway point).
SHARE_SERVED = 0.5


@dataclass(frozen=True)
class SocCriteria:
    """The three criteria of the flag; each can be changed to see how the shares depend on it."""

    min_defendants: int = 2
    min_custody_days: int = THREE_YEARS_DAYS
    offence_groups: tuple[str, ...] = SOC_OFFENCE_GROUPS


def _groups_sql(groups: tuple[str, ...]) -> str:
    return ", ".join("'" + g.replace("'", "''") + "'" for g in groups) or "NULL"


def soc_cases_sql(criteria: SocCriteria = SocCriteria()) -> str:
    """One row per Crown Court trial or sentence case, with the three criteria and the flag.

    Columns: case_id_hash, defendants (rows sharing the case), recorded_defendants (largest number_of_defendants),
    longest_custody_days (longest immediate custodial sentence of any defendant), co_defendants, long_custody,
    soc_offence (the principal offence of some defendant is in the criteria's groups) and soc (all three).
    """
    return f"""
        SELECT case_id_hash, count(*) AS defendants, max(number_of_defendants) AS recorded_defendants,
               max(custody_length_days) FILTER (WHERE disposal_type = 'Immediate custody') AS longest_custody_days,
               count(*) >= {int(criteria.min_defendants)} AS co_defendants,
               coalesce(max(custody_length_days) FILTER (WHERE disposal_type = 'Immediate custody'), 0)
                   >= {int(criteria.min_custody_days)} AS long_custody,
               bool_or(offence_group IN ({_groups_sql(criteria.offence_groups)})) AS soc_offence,
               co_defendants AND long_custody AND soc_offence AS soc
        FROM crown_court.case_summary
        WHERE case_type IN ('Trial', 'Sentence')
        GROUP BY case_id_hash
        ORDER BY case_id_hash"""


def build_soc_frame(
    con: duckdb.DuckDBPyConnection,
    criteria: SocCriteria = SocCriteria(),
    key: str = ESTIMATED,
    table: str = "soc_frame",
) -> int:
    """Create a temporary table `table`: one row per appearance (defendant row) of a trial or sentence case.

    Columns: row_id_hash, case_id_hash, person (under `key`), sex, age, offence_group, disposal_type, custody
    (immediate custody, 0/1), custody_length_days (immediate custody only), sentence_date, then the case's
    defendants, co_defendants, long_custody, soc_offence and soc. Returns the number of rows.
    """
    check_identifier(table)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        WITH persons AS ({person_keys_sql(key)}), cases AS ({soc_cases_sql(criteria)})
        SELECT c.row_id_hash, c.case_id_hash, p.person, c.sex, c.age_at_receipt AS age, c.offence_group,
               c.disposal_type, (c.disposal_type = 'Immediate custody')::INT AS custody,
               CASE WHEN c.disposal_type = 'Immediate custody' THEN c.custody_length_days END AS custody_length_days,
               c.sentence_date, k.defendants, k.co_defendants, k.long_custody, k.soc_offence, k.soc
        FROM crown_court.case_summary c
        JOIN cases k USING (case_id_hash)
        LEFT JOIN persons p ON p.source_dataset = 'crown_xhibit' AND p.row_id_hash = c.row_id_hash
        WHERE c.case_type IN ('Trial', 'Sentence')
        ORDER BY c.row_id_hash
        """
    )
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def soc_shares(con: duckdb.DuckDBPyConnection, table: str = "soc_frame") -> pd.DataFrame:
    """The study's headline measures on a frame from :func:`build_soc_frame`, for flagged and for other appearances.

    Rows: appearances (% flagged), cases (% flagged), male (% of flagged appearances, sex as recorded) and mean age
    at receipt (years); columns measure, synthetic, others (the same measure for appearances not flagged, where it
    means something), counts (flagged / all).
    """
    check_identifier(table)
    row = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE soc) AS soc_rows, count(*) AS rows,
               count(DISTINCT case_id_hash) FILTER (WHERE soc) AS soc_cases, count(DISTINCT case_id_hash) AS cases,
               avg((sex = 'M')::INT) FILTER (WHERE soc) AS soc_male, avg((sex = 'M')::INT) FILTER (WHERE NOT soc)
                   AS other_male,
               avg(age) FILTER (WHERE soc) AS soc_age, avg(age) FILTER (WHERE NOT soc) AS other_age
        FROM {table}
        """
    ).fetchall()[0]
    soc_rows, rows, soc_cases, cases, soc_male, other_male, soc_age, other_age = row

    def pct(part: float | None, whole: float | None = 1.0) -> float | None:
        return None if part is None or not whole else round(100 * part / whole, 1)

    return pd.DataFrame(
        [
            ("appearances flagged (%)", pct(soc_rows, rows), None, f"{soc_rows} / {rows}"),
            ("cases flagged (%)", pct(soc_cases, cases), None, f"{soc_cases} / {cases}"),
            ("male (%)", pct(soc_male), pct(other_male), ""),
            ("mean age (years)", None if soc_age is None else round(soc_age, 1), round(other_age, 1), ""),
        ],
        columns=["measure", "synthetic", "others", "counts"],
    )


#: The measures of :func:`soc_shares` and the calibration.yaml targets that publish each (the study's figures).
PUBLISHED_TARGETS = {
    "appearances flagged (%)": "soc_appearances",
    "cases flagged (%)": "soc_cases",
    "male (%)": "soc_male",
    "mean age (years)": "soc_mean_age",
}


def published_figures() -> pd.DataFrame:
    """The study's published figures (Crown Court data 2013-2020), read from synthetic/calibration.yaml, so that the
    chapter and the calibration report compare with the same numbers: columns measure, published, tolerance (the
    calibration's), source."""
    targets = {t["id"]: t for t in load_yaml("calibration.yaml")["targets"]}
    rows = [
        (measure, float(targets[i]["published"]), float(targets[i]["tolerance"]), targets[i]["source"])
        for measure, i in PUBLISHED_TARGETS.items()
    ]
    return pd.DataFrame(rows, columns=["measure", "published", "tolerance", "source"])


def criteria_counts(con: duckdb.DuckDBPyConnection, criteria: SocCriteria = SocCriteria()) -> pd.DataFrame:
    """Cases meeting each criterion alone and in combination (a funnel): which criterion does the filtering.

    Columns: criteria, cases, pct (of all trial and sentence cases); in a fixed order.
    """
    return con.execute(
        f"""
        WITH k AS ({soc_cases_sql(criteria)})
        SELECT * FROM (VALUES (1, 'all cases'), (2, 'co-defendants'), (3, 'custody of three years or more'),
                              (4, 'offence type'), (5, 'co-defendants and custody'), (6, 'all three')) v(i, criteria)
        CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE CASE v.i WHEN 1 THEN TRUE WHEN 2 THEN co_defendants
                       WHEN 3 THEN long_custody WHEN 4 THEN soc_offence
                       WHEN 5 THEN co_defendants AND long_custody ELSE soc END) AS cases,
                   round(100 * cases / count(*), 1) AS pct
            FROM k
        )
        ORDER BY i
        """
    ).df()[["criteria", "cases", "pct"]]


def reentry(
    con: duckdb.DuckDBPyConnection,
    table: str = "soc_frame",
    key: str = ESTIMATED,
    follow_up_days: int = 730,
    end: str | dt.date | None = None,
) -> pd.DataFrame:
    """Re-entry after each sentenced appearance of a frame from :func:`build_soc_frame` (built on the same `key`).

    The clock starts at the sentence, or for immediate custody at the estimated release (sentence date plus
    :data:`SHARE_SERVED` of the length). An appearance is `followed` if its person is known and the whole follow-up
    ends by `end` (default: the last day of magistrates' coverage, from the specs); it `reentered` if the same
    person has a magistrates' case (not a breach) for an offence committed after the clock start and within
    `follow_up_days`.
    Columns: row_id_hash, soc, custody, clock_start, followed, reentered (NULL when not followed); ordered by
    row_id_hash.
    """
    check_identifier(table)
    end_date = dt.date.fromisoformat(iso_date(end)) if end is not None else coverage_end(("magistrates",))
    return con.execute(
        f"""
        WITH persons AS ({person_keys_sql(key)}),
        mags AS (
            SELECT person, coalesce(offence_date, first_hearing_date) AS offence_date
            FROM ({mags_cases_sql("persons")})
        ),
        clock AS (
            SELECT row_id_hash, person, soc::BOOLEAN AS soc, custody,
                   CAST(sentence_date + to_days(CAST(round(coalesce(custody_length_days, 0) * ?) AS INTEGER))
                        AS DATE) AS clock_start
            FROM {table} WHERE sentence_date IS NOT NULL
        )
        SELECT c.row_id_hash, c.soc, c.custody, c.clock_start,
               c.person IS NOT NULL AND c.clock_start + to_days(?) <= ? AS followed,
               CASE WHEN followed THEN EXISTS (
                   SELECT 1 FROM mags m WHERE m.person = c.person AND m.offence_date > c.clock_start
                     AND m.offence_date <= c.clock_start + to_days(?)) END AS reentered
        FROM clock c
        ORDER BY c.row_id_hash
        """,
        [SHARE_SERVED, int(follow_up_days), end_date, int(follow_up_days)],
    ).df()


def _count_true(values: pd.Series) -> int:
    """How many values are True (missing values count as not True)."""
    return int(values.astype("boolean").fillna(False).sum())


def compare_outcomes(frame: pd.DataFrame, reentries: pd.DataFrame) -> pd.DataFrame:
    """Outcomes of flagged and other appearances side by side.

    `frame` is a :func:`build_soc_frame` table as a DataFrame, `reentries` the output of :func:`reentry` on it.
    Rows: flagged (True/False); columns appearances, custody_pct, median_custody_years and mean_custody_years
    (immediate custody only), followed, reentered_pct (of those followed).
    """
    merged = frame.merge(reentries[["row_id_hash", "followed", "reentered"]], on="row_id_hash", how="left")
    merged["years"] = merged["custody_length_days"] / 365.25
    out = merged.groupby("soc").agg(
        appearances=("row_id_hash", "size"),
        custody_pct=("custody", "mean"),
        median_custody_years=("years", "median"),
        mean_custody_years=("years", "mean"),
        followed=("followed", _count_true),
        reentered=("reentered", _count_true),
    )
    out["custody_pct"] *= 100
    out["reentered_pct"] = 100 * out["reentered"] / out["followed"].where(out["followed"] > 0)
    out.index.name = "flagged"
    return out.drop(columns="reentered").sort_index(ascending=False).round(2)
