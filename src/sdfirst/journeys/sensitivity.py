"""Sensitivity of an analysis to linkage: the same measures under several person keys, side by side.

A researcher has the linkage output at several match-probability thresholds (`cluster_high`, `cluster_medium`,
`cluster_low` of linking.xjs_link); synthetic data also have the truth (`person_id`). Running each measure under each
key and setting the results side by side shows how far a conclusion depends on the linkage, and in synthetic data
how far it is from the truth (the bias that linkage errors cause). :func:`across_keys` does the running and the
tabulating; :func:`gaps` takes the truth (or any reference key) away.

Two measures on an events table (`sdfirst.journeys.timeline`) that linkage errors move in opposite directions:
:func:`followed_by_pct` (the share of people with an event, such as a community order, who have a later event,
such as a prison reception, within a time) and :func:`overlap_pct` (the share of people with one kind of event who
have any of another kind, such as civil court parties with a criminal record). A missed link puts the two events
on two different ids, so both shares fall; a false link lends a person someone else's events, so both rise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

import duckdb
import pandas as pd

from sdfirst.exceptions import DataFirstError
from sdfirst.journeys.timeline import check_identifier


def across_keys(measure: Callable[[str], Mapping[str, float]], keys: Sequence[str]) -> pd.DataFrame:
    """Run `measure(key)` for each key: one row per named result (in the first key's order), one column per key.

    `measure` returns a mapping of results (e.g. {"people": 40693, "returned_pct": 54.6}) for one person key.
    Every key must give the same names, so that the rows compare like with like.
    """
    if not keys:
        raise DataFirstError("across_keys needs at least one person key")
    results = {key: dict(measure(key)) for key in keys}
    names = list(results[keys[0]])
    for key, result in results.items():
        if list(result) != names:
            raise DataFirstError(f"measure gave {list(result)} for {key!r} but {names} for {keys[0]!r}")
    return pd.DataFrame({key: [results[key][name] for name in names] for key in keys}, index=pd.Index(names))


def gaps(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each column of an :func:`across_keys` table minus the `reference` column (usually the truth), which is dropped.

    A positive gap means the linkage output overstates the measure; a negative one that it understates it.
    """
    if reference not in table.columns:
        raise DataFirstError(f"no column {reference!r} in the table (columns: {list(table.columns)})")
    return table.drop(columns=reference).sub(table[reference], axis=0)


def followed_by_pct(
    con: duckdb.DuckDBPyConnection,
    events: str,
    key: str,
    index_type: str,
    then_type: str,
    within_days: int,
    start: date,
    end: date,
    index_detail: str | None = None,
) -> dict[str, float]:
    """Of the people whose first `index_type` event falls from `start` to `end`, the share (%) with a `then_type`
    event after it (on a later day) and within `within_days` days. Returns {"people": n, "pct": share}.

    `index_detail`, if given, keeps only index events whose detail contains it (case-insensitive), such as
    "community order" among probation starts. Choose `end` so that every index event has its full follow-up inside
    the data, or the share falls for reasons that have nothing to do with people.
    """
    check_identifier(key)
    sql = f"""
        WITH firsts AS (
            SELECT {key} AS person, min(event_date) AS day FROM {events}
            WHERE event_type = $index_type AND {key} IS NOT NULL
              AND ($detail IS NULL OR contains(lower(detail), lower($detail)))
            GROUP BY {key}
            HAVING min(event_date) BETWEEN $start AND $end
        ),
        followed AS (
            SELECT DISTINCT f.person FROM firsts f JOIN {events} e ON e.{key} = f.person
            WHERE e.event_type = $then_type AND e.event_date > f.day
              AND e.event_date <= f.day + to_days(CAST($within AS INTEGER))
        )
        SELECT count(*), 100 * avg((f.person IN (SELECT person FROM followed))::INT) FROM firsts f"""
    params = {
        "index_type": index_type,
        "then_type": then_type,
        "detail": index_detail,
        "start": start,
        "end": end,
        "within": int(within_days),
    }
    people, pct = con.execute(sql, params).fetchall()[0]
    return {"people": int(people), "pct": None if pct is None else float(pct)}


def overlap_pct(
    con: duckdb.DuckDBPyConnection, events: str, key: str, of_types: Sequence[str], with_types: Sequence[str]
) -> dict[str, float]:
    """Of the people with any event of `of_types`, the share (%) who also have any event of `with_types` (at any
    date). Returns {"people": n, "pct": share}: e.g. civil court parties who have a criminal record.
    """
    check_identifier(key)
    if not of_types or not with_types:
        raise DataFirstError("overlap_pct needs at least one event type on each side")
    sql = f"""
        WITH base AS (SELECT DISTINCT {key} AS person FROM {events}
                      WHERE event_type IN (SELECT unnest($of)) AND {key} IS NOT NULL),
        other AS (SELECT DISTINCT {key} AS person FROM {events}
                  WHERE event_type IN (SELECT unnest($with)) AND {key} IS NOT NULL)
        SELECT count(*), 100 * avg((person IN (SELECT person FROM other))::INT) FROM base"""
    people, pct = con.execute(sql, {"of": list(of_types), "with": list(with_types)}).fetchall()[0]
    return {"people": int(people), "pct": None if pct is None else float(pct)}
