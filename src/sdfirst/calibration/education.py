"""Calibration metrics for the MoJ-DfE share: education, social care and offending (MoJ, DfE and ONS figures).

Each figure is computed on the true people behind the records (`truth.key_person`), as the published
analyses used the data owners' match: these metrics measure the simulation, not a researcher's linkage.

Definitions (this project's reading of the published figures):
- the MoJ-DfE cohort: pupils in Year 11 in the academic years 2011/12 to 2014/15, with their cautions and
  convictions on the PNC to the end of 2020;
- the ONS figures: pupils aged 23 or 24 on 31 December 2021, grouped by their worst outcome on the PNC by then
  (a custodial sentence; another sentence or a caution; nothing), with KS2 results from the levels era;
- looked-after children: pupils aged 24 or more at the end of 2021, cautioned or convicted before their 24th
  birthday, ever against never in the Children Looked After table (the ratio of the two shares).
"""

from __future__ import annotations

import duckdb
import numpy as np

from sdfirst.calibration import METRICS as _registered
from sdfirst.calibration import Modal, Share, metric
from sdfirst.calibration.noise import mode_error, most_common
from sdfirst.ground_truth import person_join
from sdfirst.specs import load_yaml
from sdfirst.synth.offending import offence_table

COHORT_YEARS = (2012, 2015)  # spring censuses (censusyear_spr) of the academic years 2011/12 to 2014/15
COHORT_AGE = 15  # ageatstartofacademicyear_spr in Year 11
COHORT_PNC_END = "2020-12-31"
ONS_DAY = "2021-12-31"


def _rows(table: str, alias: str) -> str:
    """A join of a moj_dfe table to the true person of each row (as `r_<alias>`), through the person id that the
    share's files carry instead of a row key."""
    return f"moj_dfe.{table} {alias} {person_join(f'moj_dfe.{table}', alias, f'r_{alias}')}"


def serious_violence_codes() -> list[str]:
    """The offence codes that count as serious violence (code_lists.yaml `offences`): the real share's definition
    is in a do-file that is not public, so the project's list stands in for it."""
    table = offence_table()
    return [str(code) for code, sv in zip(table.code, table.serious_violence, strict=True) if sv]


def pnc_fields(alias: str) -> str:
    """SQL select-list items reading the PNC file's own columns (`alias`) as an analysis needs them: `offence_date`
    (NULL for the file's unknown year 1900), `age_at_offence` (NULL for a negative age), `serious_violence`,
    `custody` (an immediate custodial sentence) and `disposal_date`. The casts work whether the text dates arrive
    as text or as dates."""
    codes = ", ".join(f"'{code}'" for code in serious_violence_codes())
    start = f"CAST({alias}.offencestartdate AS DATE)"
    return (
        f"CASE WHEN year({start}) > 1900 THEN {start} END AS offence_date, "
        f"CASE WHEN {alias}.offencestartage >= 0 THEN {alias}.offencestartage END AS age_at_offence, "
        f"{alias}.offencecode IN ({codes}) AS serious_violence, "
        f"{alias}.disposaldescription = 'Immediate custody' AS custody, "
        f"CAST({alias}.disposaldate AS DATE) AS disposal_date"
    )


def persistent_absence(alias: str) -> str:
    """SQL: whether a pupil's year of absence (`alias`, a row of `absence_years`) is persistent absence, missing at
    least the threshold of its year (education.yaml `absence.persistent_threshold`, by academic year; the files'
    year is the one it ends in)."""
    par = load_yaml("education.yaml")["absence"]["persistent_threshold"]
    threshold = f"{float(par['before'])}::DOUBLE"
    for first, value in sorted(par["from"].items()):
        threshold = (
            f"CASE WHEN {alias}.absenceyear_ab >= {int(first) + 1} THEN {float(value)}::DOUBLE ELSE {threshold} END"
        )
    missed = f"({alias}.authorisedabsence_annual_ab + {alias}.unauthorisedabsence_annual_ab)"
    return f"({missed} >= {threshold} * {alias}.sessionspossible_annual_ab)"


def absence_years() -> str:
    """SQL: the absence file summed over each pupil's schools in a year (a pupil who changed school has a row at
    each), as the public code collapses it before any measure: a row per person and year, with the annual columns
    that `persistent_absence` reads."""
    annual = ("sessionspossible_annual_ab", "authorisedabsence_annual_ab", "unauthorisedabsence_annual_ab")
    sums = ", ".join(f"sum(a.{column}) AS {column}" for column in annual)
    return f"SELECT r_a.person_id, a.absenceyear_ab, {sums} FROM {_rows('absence', 'a')} GROUP BY ALL"


def first_permanent_exclusions(alias: str = "e") -> str:
    """SQL: each true person's first permanent exclusion (`person_id`, `first_pe`), from the exclusions files'
    first slot, which holds a year's permanent exclusion when there is one."""
    return (
        f"SELECT r_{alias}.person_id, min(CAST({alias}.startdate1_ex AS DATE)) AS first_pe "
        f"FROM {_rows('exclusions', alias)} WHERE {alias}.category1_ex = 'PERM' GROUP BY r_{alias}.person_id"
    )


_BASE = f"""
cohort AS (
    SELECT DISTINCT r_c.person_id FROM {_rows("school_census", "c")}
    WHERE c.ageatstartofacademicyear_spr = {COHORT_AGE}
      AND c.censusyear_spr BETWEEN {COHORT_YEARS[0]} AND {COHORT_YEARS[1]}
),
pnc AS (
    SELECT * FROM (
        SELECT r_p.person_id, p.mojuid, p.pupilmatchingrefanonymous, {pnc_fields("p")}
        FROM {_rows("pnc_offences", "p")}
    ) WHERE disposal_date <= DATE '{COHORT_PNC_END}'
),
sv AS (
    SELECT person_id, min(offence_date) AS first_sv FROM pnc WHERE serious_violence GROUP BY person_id
),
ks2 AS (
    SELECT r_k.person_id, k.ks2_levxmat = 1 AS maths_expected, k.ks2_levxread = 1 AS english_expected
    FROM {_rows("ks2", "k")} WHERE k.ks2_matlev IS NOT NULL
)
"""


def records(table: str, alias: str) -> str:
    """SQL joining a moj_dfe table (as `alias`) to the true person of each row (as `r_<alias>.person_id`), for
    analyses that reuse the calibration's definitions."""
    return _rows(table, alias)


def cohort_ctes() -> str:
    """The common table expressions behind the MoJ-DfE cohort figures, to follow a `WITH`: `cohort` (true
    persons in Year 11 in 2011/12 to 2014/15), `pnc` (their cautions and convictions to the end of 2020, with
    `person_id`), `sv` (first serious violence offence date, `first_sv`) and `ks2` (levels-era results)."""
    return _BASE


def ons_ctes() -> str:
    """The common table expressions behind the ONS figures, to follow a `WITH`: `grouped` gives each pupil aged
    23 or 24 at the end of 2021 (`person_id`) and the worst outcome by then (`grp`: custody, other or none)."""
    return _ONS


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    value = con.execute(sql).fetchone()[0]
    return float("nan") if value is None else float(value)


def _share(con: duckdb.DuckDBPyConnection, sql: str) -> Share:
    """A percentage of people from a query giving it and the number of people it is of."""
    percent, people = con.execute(sql).fetchone()
    return Share(percent, people)


def _sv_ks2(con, column: str) -> Share:
    return _share(
        con,
        f"""
        WITH {_BASE}
        SELECT 100 * avg(ks2.{column}::INT), count(DISTINCT person_id)
        FROM cohort JOIN sv USING (person_id) JOIN ks2 USING (person_id)
    """,
    )


@metric("dfe_sv_ks2_maths_pct")
def dfe_sv_ks2_maths_pct(con) -> Share:
    """Of the cohort cautioned or sentenced for serious violence, % reaching level 4+ in KS2 maths (58)."""
    return _sv_ks2(con, "maths_expected")


@metric("dfe_sv_ks2_english_pct")
def dfe_sv_ks2_english_pct(con) -> Share:
    """Of the cohort cautioned or sentenced for serious violence, % reaching level 4+ in KS2 English (51)."""
    return _sv_ks2(con, "english_expected")


@metric("dfe_any_offence_pct")
def dfe_any_offence_pct(con) -> Share:
    """% of the cohort cautioned or sentenced for any offence (about 5)."""
    return _share(
        con,
        f"""
        WITH {_BASE}
        SELECT 100 * avg((person_id IN (SELECT person_id FROM pnc))::INT), count(*) FROM cohort
    """,
    )


@metric("dfe_sv_offence_pct")
def dfe_sv_offence_pct(con) -> Share:
    """% of the cohort cautioned or sentenced for a serious violence offence (1.1)."""
    return _share(
        con,
        f"""
        WITH {_BASE}
        SELECT 100 * avg((person_id IN (SELECT person_id FROM sv))::INT), count(*) FROM cohort
    """,
    )


def _male_share(con, table: str) -> Share:
    return _share(
        con,
        f"""
        WITH {_BASE}
        SELECT 100 * avg((t.sex = 'M')::INT), count(DISTINCT person_id) FROM cohort JOIN {table} o USING (person_id)
        JOIN truth.people t USING (person_id)
    """,
    )


@metric("dfe_male_any_pct")
def dfe_male_any_pct(con) -> Share:
    """Males as % of the cohort's offenders (78)."""
    return _male_share(con, "(SELECT DISTINCT person_id FROM pnc)")


@metric("dfe_male_sv_pct")
def dfe_male_sv_pct(con) -> Share:
    """Males as % of the cohort's serious violence offenders (86)."""
    return _male_share(con, "sv")


def _peak_age(con, where: str) -> Modal:
    """The most common age at a first offence (``where``) in the cohort, with its bootstrap standard error: the
    counts at each age are fetched and the mode taken from them, so that a tie is settled the same way on every run
    (the mean of the ages tied)."""
    ages = con.execute(
        f"""
        WITH {_BASE},
        firsts AS (
            SELECT person_id, arg_min(age_at_offence, (offence_date, age_at_offence)) AS age FROM pnc
            WHERE {where} AND offence_date IS NOT NULL AND age_at_offence IS NOT NULL GROUP BY person_id
        )
        SELECT age, count(*) FROM cohort JOIN firsts USING (person_id) GROUP BY age ORDER BY age
    """,
    ).fetchall()
    values = np.array([age for age, _ in ages], dtype=float)
    counts = np.array([n for _, n in ages], dtype=np.int64)
    return Modal(most_common(values, counts), mode_error(values, counts))


@metric("dfe_peak_age_first_offence")
def dfe_peak_age_first_offence(con) -> Modal:
    """Most common age at first caution or conviction in the cohort (15)."""
    return _peak_age(con, "TRUE")


@metric("dfe_peak_age_first_sv")
def dfe_peak_age_first_sv(con) -> Modal:
    """Most common age at first serious violence offence in the cohort (16)."""
    return _peak_age(con, "serious_violence")


@metric("dfe_fsm_sv_pct")
def dfe_fsm_sv_pct(con) -> Share:
    """Of the cohort ever eligible for free school meals, % with a serious violence offence (2)."""
    return _share(
        con,
        f"""
        WITH {_BASE},
        fsm AS (SELECT DISTINCT r_f.person_id FROM {_rows("school_census", "f")} WHERE f.fsmeligible_spr = 1)
        SELECT 100 * avg((person_id IN (SELECT person_id FROM sv))::INT), count(*)
        FROM cohort JOIN fsm USING (person_id)
    """,
    )


@metric("dfe_sv_pe_year_before_pct")
def dfe_sv_pe_year_before_pct(con) -> Share:
    """Of the cohort's serious violence offenders ever permanently excluded, % whose first permanent exclusion
    was more than a year before their first serious violence offence (44)."""
    return _share(
        con,
        f"""
        WITH {_BASE},
        pe AS ({first_permanent_exclusions()})
        SELECT 100 * avg((first_pe < first_sv - INTERVAL 365 DAY)::INT), count(*)
        FROM cohort JOIN sv USING (person_id) JOIN pe USING (person_id)
    """,
    )


_ONS = f"""
pupils AS (
    SELECT DISTINCT r_c.person_id FROM {_rows("school_census", "c")}
),
ons AS (
    SELECT p.person_id FROM pupils p JOIN truth.people t USING (person_id)
    WHERE date_diff('year', t.date_of_birth, DATE '{ONS_DAY}')
          - (strftime(t.date_of_birth, '%m%d') > strftime(DATE '{ONS_DAY}', '%m%d'))::INT BETWEEN 23 AND 24
),
outcome AS (
    SELECT person_id, max(custody::INT) AS custody FROM (
        SELECT r_p.person_id, {pnc_fields("p")} FROM {_rows("pnc_offences", "p")}
    ) WHERE disposal_date <= DATE '{ONS_DAY}' GROUP BY person_id
),
grouped AS (
    SELECT ons.person_id,
           CASE WHEN outcome.custody = 1 THEN 'custody'
                WHEN outcome.custody = 0 THEN 'other' ELSE 'none' END AS grp
    FROM ons LEFT JOIN outcome USING (person_id)
)
"""


def _ons(con, group: str, measure: str) -> Share:
    measures = {
        "ks2": f"""
            SELECT 100 * avg((k.ks2_levxmat = 1 AND k.ks2_levxread = 1)::INT), count(DISTINCT g.person_id)
            FROM grouped g JOIN (SELECT r_k.person_id, k.* FROM {_rows("ks2", "k")}) k USING (person_id)
            WHERE g.grp = '{group}' AND k.ks2_matlev IS NOT NULL""",
        "absence": f"""
            SELECT 100 * avg((g.person_id IN (
                SELECT y.person_id FROM ({absence_years()}) y WHERE {persistent_absence("y")}))::INT), count(*)
            FROM grouped g WHERE g.grp = '{group}'""",
        "fixed": f"""
            SELECT 100 * avg((g.person_id IN (
                SELECT r_e.person_id FROM {_rows("exclusions", "e")}
                WHERE e.totalfixedexclusions_ex > 0))::INT), count(*)
            FROM grouped g WHERE g.grp = '{group}'""",
    }
    return _share(con, f"WITH {_ONS} {measures[measure]}")


@metric("ons_ks2_custody_pct")
def ons_ks2_custody_pct(con) -> Share:
    """23-24-year-olds with a custodial sentence: % at the expected level in KS2 English and maths (36.9)."""
    return _ons(con, "custody", "ks2")


@metric("ons_ks2_other_pct")
def ons_ks2_other_pct(con) -> Share:
    """With a non-custodial sentence or caution: % at the expected level in KS2 English and maths (53.0)."""
    return _ons(con, "other", "ks2")


@metric("ons_ks2_none_pct")
def ons_ks2_none_pct(con) -> Share:
    """With no offence: % reaching the expected level in KS2 English and maths (72.4)."""
    return _ons(con, "none", "ks2")


@metric("ons_absence_custody_pct")
def ons_absence_custody_pct(con) -> Share:
    """23-24-year-olds with a custodial sentence: % ever persistently absent (52.5)."""
    return _ons(con, "custody", "absence")


@metric("ons_absence_other_pct")
def ons_absence_other_pct(con) -> Share:
    """With a non-custodial sentence or caution: % ever persistently absent (35.9)."""
    return _ons(con, "other", "absence")


@metric("ons_absence_none_pct")
def ons_absence_none_pct(con) -> Share:
    """With no offence: % ever persistently absent (10.9)."""
    return _ons(con, "none", "absence")


@metric("ons_fixed_exclusion_custody_pct")
def ons_fixed_exclusion_custody_pct(con) -> Share:
    """23-24-year-olds with a custodial sentence: % ever given a fixed-period exclusion (72.2)."""
    return _ons(con, "custody", "fixed")


@metric("ons_fixed_exclusion_other_pct")
def ons_fixed_exclusion_other_pct(con) -> Share:
    """With a non-custodial sentence or caution: % ever given a fixed-period exclusion (50.3)."""
    return _ons(con, "other", "fixed")


@metric("ons_fixed_exclusion_none_pct")
def ons_fixed_exclusion_none_pct(con) -> Share:
    """With no offence: % ever given a fixed-period exclusion (9.0)."""
    return _ons(con, "none", "fixed")


@metric("cla_offending_ratio")
def cla_offending_ratio(con) -> float:
    """Share cautioned or convicted by 24 of children ever looked after over that of the rest (52/13 = 4)."""
    return _scalar(
        con,
        f"""
        WITH pupils AS (
            SELECT DISTINCT r_c.person_id FROM {_rows("school_census", "c")}
        ),
        old AS (
            SELECT p.person_id, t.date_of_birth + INTERVAL 24 YEAR AS day24
            FROM pupils p JOIN truth.people t USING (person_id)
            WHERE t.date_of_birth + INTERVAL 24 YEAR <= DATE '{ONS_DAY}'
        ),
        cla AS (SELECT DISTINCT r_l.person_id FROM {_rows("children_looked_after", "l")}),
        flags AS (
            SELECT o.person_id, o.person_id IN (SELECT person_id FROM cla) AS in_care,
                   EXISTS (SELECT 1 FROM {_rows("pnc_offences", "p")}
                           WHERE r_p.person_id = o.person_id AND CAST(p.disposaldate AS DATE) < o.day24) AS offended
            FROM old o
        )
        SELECT avg(offended::INT) FILTER (WHERE in_care) / avg(offended::INT) FILTER (WHERE NOT in_care)
        FROM flags
    """,
    )


@metric("dfe_pnc_matched_pct")
def dfe_pnc_matched_pct(con) -> float:
    """% of the cohort's PNC person ids (mojuid) that the data owners matched to a pupil (about 92, this
    project's)."""
    return _scalar(
        con,
        f"""
        WITH {_BASE},
        ids AS (
            SELECT mojuid, bool_or(pupilmatchingrefanonymous IS NOT NULL) AS matched
            FROM pnc JOIN cohort USING (person_id) GROUP BY mojuid
        )
        SELECT 100 * avg(matched::INT) FROM ids
    """,
    )


#: This module's metrics by name (registered with @metric; listed here for callers that use only these).
METRICS = {name: func for name, func in _registered.items() if func.__module__ == __name__}
