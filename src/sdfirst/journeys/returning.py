"""Returning defendants, after MoJ's 2022 analysis of the linked magistrates' court data.

Of the defendants first seen at the magistrates' courts in a year, how many came back (a later case) by a later
date, how often, and how that differs by the offence group of their first case. Every measure works on an events
table (`sdfirst.journeys.timeline`) and takes the name of its person column, so the same measure runs on the
linkage output (`estimated_xjs_id`) and on the truth (`person_id`): the difference is the damage that linkage
errors do. The calibration of the generator (`sdfirst.calibration.courts`) uses the same SQL on the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from sdfirst.journeys.timeline import check_identifier
from sdfirst.specs import load_yaml

#: The bands of the number of returns, as MoJ published them: (label, lowest, highest or None for no limit).
RETURN_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0),
    ("1", 1, 1),
    ("2 to 5", 2, 5),
    ("6 or more", 6, None),
)
#: The calibration targets (synthetic/calibration.yaml) that are MoJ's published returning-defendants figures.
PUBLISHED_TARGETS = ("returned_by_2019", "returned_once", "returned_six_plus", "theft_returned")


@dataclass(frozen=True)
class Cohort:
    """Who is followed and for how long: defendants first seen in `first_year`, followed to `end` (inclusive).

    As in the published analysis, "first seen" means the first case in the data: someone with a case before the
    data begin (2011 for the magistrates' courts) can still count as first seen in 2011.
    """

    first_year: int = 2011
    end: date = date(2019, 12, 31)
    event_type: str = "magistrates_case"


def returns_sql(events: str, key: str, cohort: Cohort = Cohort()) -> str:
    """One row per defendant of the cohort: `key`, first_day, first_group, returns, first_return_day.

    `events` is an events table or a parenthesised SELECT with the timeline's columns; `key` its person column.
    A return is a later case: a case on a later day than the first one, counted once per case (two cases on the
    same later day are two returns). The first case's offence group is its `detail`; if two cases share the first
    day, the one with the smaller row_id_hash is taken, an arbitrary but fixed choice.
    """
    check_identifier(key)
    event_type = cohort.event_type.replace("'", "''")
    return f"""
        WITH cases AS (
            SELECT {key} AS person, event_date AS day, detail AS offence_group, row_id_hash
            FROM {events}
            WHERE event_type = '{event_type}' AND event_date <= DATE '{cohort.end.isoformat()}' AND {key} IS NOT NULL
        ),
        firsts AS (
            SELECT person, min(day) AS first_day, arg_min(offence_group, (day, row_id_hash)) AS first_group
            FROM cases GROUP BY person HAVING year(min(day)) = {int(cohort.first_year)}
        )
        SELECT f.person AS {key}, f.first_day, f.first_group,
               count(c.day) FILTER (WHERE c.day > f.first_day) AS returns,
               min(c.day) FILTER (WHERE c.day > f.first_day) AS first_return_day
        FROM firsts f JOIN cases c USING (person)
        GROUP BY f.person, f.first_day, f.first_group"""


def returned_pct(con: duckdb.DuckDBPyConnection, events: str, key: str, cohort: Cohort = Cohort()) -> float:
    """Share (%) of the cohort with at least one return by the end of follow-up."""
    sql = f"SELECT 100 * avg((returns >= 1)::INT) FROM ({returns_sql(events, key, cohort)})"
    return con.execute(sql).fetchall()[0][0]


def _band_case(bands: tuple[tuple[str, int, int | None], ...]) -> str:
    whens = []
    for label, low, high in bands:
        test = f"returns >= {int(low)}" if high is None else f"returns BETWEEN {int(low)} AND {int(high)}"
        whens.append(f"WHEN {test} THEN '{label}'")
    return f"CASE {' '.join(whens)} END"


def returns_distribution(
    con: duckdb.DuckDBPyConnection,
    events: str,
    key: str,
    cohort: Cohort = Cohort(),
    bands: tuple[tuple[str, int, int | None], ...] = RETURN_BANDS,
) -> pd.DataFrame:
    """Defendants of the cohort by number of returns, in `bands`: columns returns, defendants, pct (in band order)."""
    order = " ".join(f"WHEN '{label}' THEN {i}" for i, (label, _, _) in enumerate(bands))
    labels = ", ".join(f"('{label}')" for label, _, _ in bands)
    sql = f"""
        WITH banded AS (SELECT {_band_case(bands)} AS band FROM ({returns_sql(events, key, cohort)})),
        counts AS (SELECT band, count(*) AS n FROM banded GROUP BY band)
        SELECT b.band AS returns, coalesce(c.n, 0) AS defendants,
               100 * coalesce(c.n, 0) / (SELECT count(*) FROM banded) AS pct
        FROM (VALUES {labels}) AS b(band) LEFT JOIN counts c USING (band)
        ORDER BY CASE b.band {order} END"""
    return con.execute(sql).df()


def wilson_sql(successes: str, n: str, z: float = 1.96) -> tuple[str, str]:
    """SQL for the lower and upper bounds (%) of the Wilson score interval of a proportion (95% for z = 1.96).

    Unlike the normal approximation, it stays within 0 to 100 and behaves for small groups and rates near 0 or 100,
    which is where the groups of a 100,000-person synthetic population are.
    """
    p, z2 = f"({successes}) / ({n})", f"{z * z!r}"
    centre = f"({p} + {z2} / (2 * ({n})))"
    spread = f"({z!r} * sqrt({p} * (1 - {p}) / ({n}) + {z2} / (4 * ({n}) * ({n}))))"
    scale = f"(1 + {z2} / ({n}))"
    # clipped, so that rounding error never puts a bound a hair outside 0 to 100, or beyond the rate itself
    # (at rates of exactly 0 or 100%, where one bound equals the rate)
    return (
        f"least(100 * {p}, greatest(0.0, 100 * ({centre} - {spread}) / {scale}))",
        f"greatest(100 * {p}, least(100.0, 100 * ({centre} + {spread}) / {scale}))",
    )


def return_rates_by_group(
    con: duckdb.DuckDBPyConnection, events: str, key: str, cohort: Cohort = Cohort()
) -> pd.DataFrame:
    """Return rates by the offence group of the first case, with 95% Wilson intervals.

    Columns: first_group, defendants, returned, returned_pct, ci_low, ci_high. Ordered by the number of
    defendants (largest first), then by group. Small groups are noisy: the interval says how noisy.
    """
    low, high = wilson_sql("returned", "defendants")
    sql = f"""
        WITH groups AS (
            SELECT first_group, count(*) AS defendants, count(*) FILTER (WHERE returns >= 1) AS returned
            FROM ({returns_sql(events, key, cohort)}) GROUP BY first_group
        )
        SELECT first_group, defendants, returned, 100 * returned / defendants AS returned_pct,
               {low} AS ci_low, {high} AS ci_high
        FROM groups ORDER BY defendants DESC, first_group"""
    return con.execute(sql).df()


def returned_by_year(con: duckdb.DuckDBPyConnection, events: str, key: str, cohort: Cohort = Cohort()) -> pd.DataFrame:
    """Cumulative share (%) of the cohort that had returned by the end of each year of follow-up: year, returned_pct.

    The years run from the cohort's year to the year of its end; the last value equals `returned_pct`.
    """
    sql = f"""
        SELECT y.year, 100 * avg(coalesce(year(r.first_return_day) <= y.year, FALSE)::INT) AS returned_pct
        FROM ({returns_sql(events, key, cohort)}) r
        CROSS JOIN range({int(cohort.first_year)}, {cohort.end.year + 1}) AS y(year)
        GROUP BY y.year ORDER BY y.year"""
    return con.execute(sql).df()


def published_figures() -> pd.DataFrame:
    """MoJ's published returning-defendants figures, with their sources, from synthetic/calibration.yaml."""
    targets = {t["id"]: t for t in load_yaml("calibration.yaml")["targets"]}
    rows = [
        {"id": i, "figure": targets[i]["figure"], "published": targets[i]["published"], "source": targets[i]["source"]}
        for i in PUBLISHED_TARGETS
    ]
    return pd.DataFrame(rows)
