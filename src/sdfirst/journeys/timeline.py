"""Person timelines: one table of dated events from every linked dataset, keyed on a person id.

Which records are events, and on which date, is data, not code: `synthetic/timeline.yaml`. This module turns
each entry into a SELECT and stacks them. The person id is the linkage output's cross-justice id
(`estimated_xjs_id`, from linking.xjs_link), as a researcher in the secure environment would use; or the true
person (`person_id`, from truth.record_person), which exists only in synthetic data and serves only to measure
what linkage errors do to an analysis: run the same analysis on both keys and compare.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from sdfirst.exceptions import DataFirstError
from sdfirst.linkage.config import source_tables
from sdfirst.specs import load_yaml

ESTIMATED = "estimated_xjs_id"
TRUTH = "person_id"
#: Where each person key comes from: the linkage output (the cross-justice id, and the clusters at the three
#: match-probability thresholds, of which `cluster_medium` is the same as the id), or the truth (synthetic only).
KEY_LOOKUPS = {
    ESTIMATED: "linking.xjs_link",
    "cluster_high": "linking.xjs_link",
    "cluster_medium": "linking.xjs_link",
    "cluster_low": "linking.xjs_link",
    TRUTH: "truth.record_person",
}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class EventSource:
    """One entry of timeline.yaml: which rows of which table are events of one type, and their date."""

    event_type: str
    source_dataset: str
    table: str
    date: str
    detail: str = "NULL"
    join: dict[str, str] | None = None
    where: str | None = None
    one_per: str | None = None  # a column of which each value is one event (a release that repeats some rows)

    @property
    def dataset(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".", 1)[1]


def event_sources(event_types: list[str] | None = None) -> list[EventSource]:
    """The event definitions of timeline.yaml, in file order; `event_types` keeps only those named."""
    sources = [EventSource(**entry) for entry in load_yaml("timeline.yaml")["events"]]
    if event_types is not None:
        unknown = set(event_types) - {s.event_type for s in sources}
        if unknown:
            raise DataFirstError(f"timeline.yaml defines no event type {sorted(unknown)}")
        sources = [s for s in sources if s.event_type in event_types]
    return sources


def check_identifier(name: str) -> str:
    """A column or table name safe to put in SQL (the functions here build SQL from their arguments)."""
    if not _IDENTIFIER.match(name):
        raise DataFirstError(f"{name!r} is not a plain SQL identifier")
    return name


def _check_key(key: str) -> None:
    if key not in KEY_LOOKUPS:
        raise DataFirstError(f"person key must be one of {sorted(KEY_LOOKUPS)}, not {key!r}")


def source_person_keys_sql(key: str = ESTIMATED, sources: Sequence[str] | None = None) -> str:
    """SELECT source_dataset, row_id_hash, person: the person under `key` of every record of the linked sources.

    `sources` names the source codes to include (all the linkage's sources if None); each code's table comes from
    linkage.yaml. Under the truth, records are matched to their source through that table.
    """
    _check_key(key)
    tables = source_tables()
    chosen = list(tables) if sources is None else list(sources)
    unknown = [code for code in chosen if code not in tables]
    if unknown:
        raise DataFirstError(f"unknown linkage source {unknown[0]!r}; choose from {', '.join(tables)}")
    codes = ", ".join(f"'{code}'" for code in chosen)
    if KEY_LOOKUPS[key] == "linking.xjs_link":
        return (
            f"SELECT source_dataset, row_id_hash, {key} AS person "
            f"FROM linking.xjs_link WHERE source_dataset IN ({codes})"
        )
    cases = " ".join(f"WHEN '{tables[code]}' THEN '{code}'" for code in chosen)
    names = ", ".join(f"'{tables[code]}'" for code in chosen)
    return (
        f"SELECT CASE dataset || '.' || table_name {cases} END AS source_dataset, row_id_hash, "
        f"CAST({key} AS VARCHAR) AS person FROM truth.record_person "
        f"WHERE dataset || '.' || table_name IN ({names})"
    )


def _person_join(source: EventSource, key: str) -> str:
    """The join that gives each record of `source` its person under `key` (a LEFT JOIN: unlinked rows show NULL)."""
    _check_key(key)
    if KEY_LOOKUPS[key] == "linking.xjs_link":
        code = source.source_dataset.replace("'", "''")
        return f"LEFT JOIN linking.xjs_link AS k ON k.row_id_hash = rec.row_id_hash AND k.source_dataset = '{code}'"
    return (
        "LEFT JOIN truth.record_person AS k ON k.row_id_hash = rec.row_id_hash "
        f"AND k.dataset = '{source.dataset}' AND k.table_name = '{source.table_name}'"
    )


def event_sql(source: EventSource, key: str = ESTIMATED) -> str:
    """SELECT of one event type: `key`, source_dataset, event_type, event_date, row_id_hash, detail."""
    joined = ""
    if source.join:
        on = check_identifier(source.join["using"])
        joined = f"JOIN {source.join['table']} AS j ON j.{on} = rec.{on}"
    where = f"AND ({source.where})" if source.where else ""
    once = ""
    if source.one_per:  # the first row of each repeated event, in a fixed order
        column = check_identifier(source.one_per)
        once = f"QUALIFY row_number() OVER (PARTITION BY rec.{column} ORDER BY rec.row_id_hash) = 1"
    event_type = source.event_type.replace("'", "''")
    code = source.source_dataset.replace("'", "''")
    return f"""
        SELECT k.{key} AS {key}, '{code}' AS source_dataset, '{event_type}' AS event_type,
               CAST({source.date} AS DATE) AS event_date, rec.row_id_hash, CAST({source.detail} AS VARCHAR) AS detail
        FROM {source.table} AS rec {joined}
        {_person_join(source, key)}
        WHERE {source.date} IS NOT NULL {where}
        {once}"""


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
    return {row[0] for row in rows}


def available_sources(con: duckdb.DuckDBPyConnection, event_types: list[str] | None = None) -> list[EventSource]:
    """The event sources whose tables the connection holds (a folder may have been generated for some datasets)."""
    return _held(event_sources(event_types), _tables(con))


def _held(sources: list[EventSource], tables: set[str]) -> list[EventSource]:
    return [s for s in sources if s.table in tables and (not s.join or s.join["table"] in tables)]


def timeline_sql(con: duckdb.DuckDBPyConnection, key: str = ESTIMATED, event_types: list[str] | None = None) -> str:
    """The SQL of the events table: every available event source stacked, ordered by person, date and type.

    Raises if the key's lookup table is missing (`estimated_xjs_id` needs the linkage output: `sdfirst link`).
    """
    _check_key(key)
    lookup = KEY_LOOKUPS[key]
    tables = _tables(con)
    if lookup not in tables:
        raise DataFirstError(f"no {lookup} in this connection: the {key!r} key needs it (run `sdfirst link`)")
    sources = _held(event_sources(event_types), tables)
    if not sources:
        raise DataFirstError("none of the tables that timeline.yaml names is in this connection")
    union = "\nUNION ALL\n".join(event_sql(s, key) for s in sources)
    return f"SELECT * FROM ({union}) ORDER BY {key}, event_date, event_type, row_id_hash"


def build_timeline(
    con: duckdb.DuckDBPyConnection,
    key: str = ESTIMATED,
    table: str = "timeline",
    event_types: list[str] | None = None,
) -> int:
    """Create (or replace) a temporary table `table` of events keyed on `key`; return its number of rows.

    Columns: `key`, then source_dataset, event_type, event_date, row_id_hash, detail. A record the key's lookup
    does not cover keeps a NULL person, so that no event is lost silently.
    """
    check_identifier(table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {timeline_sql(con, key, event_types)}")
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def person_summary(con: duckdb.DuckDBPyConnection, table: str = "timeline", key: str = ESTIMATED) -> dict[str, Any]:
    """People, events and events per person (mean, median, maximum) of an events table."""
    check_identifier(table)
    check_identifier(key)
    row = con.execute(
        f"""
        SELECT count(*) AS people, sum(n) AS events, avg(n) AS mean_events, median(n) AS median_events,
               max(n) AS max_events
        FROM (SELECT {key}, count(*) AS n FROM {table} WHERE {key} IS NOT NULL GROUP BY {key})
        """
    ).fetchall()[0]
    names = ("people", "events", "mean_events", "median_events", "max_events")
    return dict(zip(names, row, strict=True))
