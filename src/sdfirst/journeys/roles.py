"""People in the family and civil courts: their cases and roles, and how their journeys meet the criminal courts.

A person in FamilyMan or CaseMan/PCOL is a party to a case in a role (applicant, respondent or child; claimant or
defendant). The same person can be a party to several cases, in different roles, and can also have a criminal
record. Both questions need a person key across records, which is the linkage output's `estimated_xjs_id` (what a
researcher has) or, in synthetic data only and only to measure linkage error, the true `person_id`.

The family and civil events of the person timeline (`sdfirst.journeys.timeline`, `synthetic/timeline.yaml`)
already carry each person party with its case's issue date; :func:`build_parties` adds the role and case type from
the party and case tables, so that nothing here repeats the timeline's person joins.

Family and civil links are weaker than criminal ones because fewer identifiers are recorded, and which are missing
depends on the role (:func:`missingness_by_role`); :func:`criminal_link_quality` measures, with the truth, how
many true links to a criminal record the linkage found and how many it made falsely, by role.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from sdfirst.journeys.timeline import (
    ESTIMATED,
    TRUTH,
    EventSource,
    build_timeline,
    check_identifier,
    event_sources,
    source_person_keys_sql,
)

#: The courts of this module: name -> the timeline event type of a person's party to a case there (whose entry in
#: timeline.yaml gives the linkage source code and the party table).
COURTS = {"family": "family_case", "civil": "civil_case"}
#: Timeline events that make a criminal record: a case at a criminal court, a prison spell or probation.
CRIMINAL_EVENTS = ("magistrates_case", "crown_case", "prison_reception", "oasys_assessment", "probation_start")
#: Identifier columns of the party tables (what the linkage compares).
IDENTIFIERS = ("forename", "surname", "date_of_birth", "sex", "postcode")


def _parties(court: str) -> EventSource:
    """The timeline entry of a court's person parties: event type, source code, party table."""
    return event_sources([COURTS[court]])[0]


def _party_select(court: str, timeline: str) -> str:
    source = _parties(court)
    type_column = "case_type" if court == "family" else "claim_type"
    return f"""
        SELECT t.* EXCLUDE (event_type, detail), '{court}' AS court, c.{type_column} AS case_type,
               p.case_number_hash, lower(p.party_role) AS role
        FROM {timeline} t
        JOIN {source.table} p ON p.row_id_hash = t.row_id_hash
        JOIN {source.join["table"]} c ON c.case_number_hash = p.case_number_hash
        WHERE t.event_type = '{source.event_type}' AND t.source_dataset = '{source.source_dataset}'"""


def build_parties(
    con: duckdb.DuckDBPyConnection, key: str = ESTIMATED, table: str = "parties", timeline: str | None = None
) -> int:
    """Create a temporary table `table` of person parties to family and civil cases; return its number of rows.

    Columns: `key`, source_dataset, event_date (the case's issue date), row_id_hash, court (family or civil),
    case_type (the family case type or civil claim type), case_number_hash and role (lower case). `timeline` names
    an events table already built on `key`; without it the family and civil events are built here.
    """
    check_identifier(table)
    if timeline is None:
        timeline = f"{table}_events"
        build_timeline(con, key, timeline, event_types=list(COURTS.values()))
    check_identifier(timeline)
    union = "\nUNION ALL\n".join(_party_select(court, timeline) for court in COURTS)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM ({union}) "
        f"ORDER BY {key}, event_date, court, case_number_hash, row_id_hash"
    )
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def missingness_by_role(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Share (%) of person parties with each identifier missing, by court and role (needs no person key).

    Columns: court, role, records, then one `<identifier>_missing_pct` per identifier; ordered by court and role.
    """
    pct = ", ".join(f"round(100 * avg(({c} IS NULL)::INT), 1) AS {c}_missing_pct" for c in IDENTIFIERS)
    union = "\nUNION ALL\n".join(
        f"SELECT '{court}' AS court, lower(party_role) AS role, {', '.join(IDENTIFIERS)} "
        f"FROM {_parties(court).table} WHERE party_type = 'Person'"
        for court in COURTS
    )
    return con.execute(
        f"SELECT court, role, count(*) AS records, {pct} FROM ({union}) GROUP BY court, role ORDER BY court, role"
    ).df()


def cases_per_person(con: duckdb.DuckDBPyConnection, table: str = "parties", key: str = ESTIMATED) -> pd.DataFrame:
    """People by court and number of cases (1, 2, 3 or more), with the share (%) of the court's people.

    A person counts once per court: someone with a divorce and a money claim has one case in each.
    """
    check_identifier(table)
    check_identifier(key)
    return con.execute(
        f"""
        WITH per AS (
            SELECT court, {key}, count(DISTINCT case_number_hash) AS n FROM {table}
            WHERE {key} IS NOT NULL GROUP BY ALL
        ),
        banded AS (SELECT court, CASE WHEN n >= 3 THEN '3 or more' ELSE n::VARCHAR END AS cases FROM per)
        SELECT court, cases, count(*) AS people,
               round(100 * count(*) / sum(count(*)) OVER (PARTITION BY court), 1) AS pct
        FROM banded GROUP BY court, cases ORDER BY court, cases
        """
    ).df()


def role_combinations(con: duckdb.DuckDBPyConnection, table: str = "parties", key: str = ESTIMATED) -> pd.DataFrame:
    """People by the set of (court, role) pairs they hold across all their cases, most common first.

    `roles` is the pairs in alphabetical order joined by " + ", e.g. "civil defendant + family respondent".
    """
    check_identifier(table)
    check_identifier(key)
    return con.execute(
        f"""
        WITH per AS (
            SELECT {key}, string_agg(DISTINCT court || ' ' || role, ' + ' ORDER BY court || ' ' || role) AS roles
            FROM {table} WHERE {key} IS NOT NULL GROUP BY ALL
        )
        SELECT roles, count(*) AS people FROM per GROUP BY ALL ORDER BY people DESC, roles
        """
    ).df()


def _first_criminal_sql(timeline: str, key: str) -> str:
    types = ", ".join(f"'{t}'" for t in CRIMINAL_EVENTS)
    return (
        f"SELECT {key}, min(event_date) AS first_criminal FROM {timeline} "
        f"WHERE event_type IN ({types}) AND {key} IS NOT NULL GROUP BY ALL"
    )


def criminal_overlap(
    con: duckdb.DuckDBPyConnection,
    table: str = "parties",
    timeline: str = "timeline",
    key: str = ESTIMATED,
    by: tuple[str, ...] = ("court", "case_type", "role"),
) -> pd.DataFrame:
    """Share of family and civil people with a criminal record, by the columns `by` of the parties table.

    A person counts once per group. `criminal_pct` is the share with any criminal event in `timeline` (an events
    table on the same key), at any date; `criminal_before_pct` the share whose first criminal event came before
    their first case of the group, `criminal_after_pct` on or after it. Columns: `by`, people, criminal,
    criminal_pct, criminal_before_pct, criminal_after_pct; ordered by `by`.
    """
    for name in (table, timeline, key, *by):
        check_identifier(name)
    groups = ", ".join(by)
    return con.execute(
        f"""
        WITH first_case AS (
            SELECT {groups}, {key}, min(event_date) AS first_case FROM {table}
            WHERE {key} IS NOT NULL GROUP BY ALL
        ),
        crim AS ({_first_criminal_sql(timeline, key)})
        SELECT {groups}, count(*) AS people, count(c.first_criminal) AS criminal,
               round(100 * count(c.first_criminal) / count(*), 1) AS criminal_pct,
               round(100 * count(*) FILTER (WHERE c.first_criminal < f.first_case) / count(*), 1)
                   AS criminal_before_pct,
               round(100 * count(*) FILTER (WHERE c.first_criminal >= f.first_case) / count(*), 1)
                   AS criminal_after_pct
        FROM first_case f LEFT JOIN crim c USING ({key})
        GROUP BY ALL ORDER BY {groups}
        """
    ).df()


def years_from_case_to_criminal(
    con: duckdb.DuckDBPyConnection,
    table: str = "parties",
    timeline: str = "timeline",
    key: str = ESTIMATED,
    court: str = "family",
) -> pd.DataFrame:
    """For people of `court` with a criminal record: years from their first case there to their first criminal event.

    Negative values mean the criminal record came first. Columns: `key`, first_case, first_criminal, years (one
    decimal); ordered by `key`.
    """
    for name in (table, timeline, key):
        check_identifier(name)
    if court not in COURTS:
        raise ValueError(f"court must be one of {sorted(COURTS)}, not {court!r}")
    return con.execute(
        f"""
        WITH first_case AS (
            SELECT {key}, min(event_date) AS first_case FROM {table}
            WHERE {key} IS NOT NULL AND court = ? GROUP BY ALL
        ),
        crim AS ({_first_criminal_sql(timeline, key)})
        SELECT {key}, first_case, first_criminal,
               round(date_diff('day', first_case, first_criminal) / 365.25, 1) AS years
        FROM first_case JOIN crim USING ({key}) ORDER BY {key}
        """,
        [court],
    ).df()


def criminal_link_quality(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """How well the linkage joins family and civil parties to criminal records, by court and role (needs the truth).

    For each person party: `truly_criminal` if its true person has a criminal record; `found` if, besides, its
    `estimated_xjs_id` holds a criminal record of that same person; `false_link` if its `estimated_xjs_id` holds a
    criminal record of a different person. Columns: court, role, records, truly_criminal, found, recall_pct
    (found / truly_criminal), false_link, false_link_pct (of records); ordered by court and role.
    """
    criminal_codes = sorted({s.source_dataset for s in event_sources(list(CRIMINAL_EVENTS))})
    party_codes = {court: _parties(court).source_dataset for court in COURTS}
    truth = source_person_keys_sql(TRUTH, criminal_codes + sorted(set(party_codes.values())))
    crim_codes = ", ".join(f"'{c}'" for c in criminal_codes)
    party_courts = " ".join(f"WHEN '{code}' THEN '{court}'" for court, code in party_codes.items())
    parties = "\nUNION ALL\n".join(
        f"SELECT row_id_hash, lower(party_role) AS role FROM {_parties(court).table} WHERE party_type = 'Person'"
        for court in COURTS
    )
    return con.execute(
        f"""
        WITH rec AS (
            SELECT x.source_dataset, x.row_id_hash, x.estimated_xjs_id AS xjs, t.person AS person_id
            FROM linking.xjs_link x JOIN ({truth}) t USING (source_dataset, row_id_hash)
        ),
        crim AS (SELECT DISTINCT xjs, person_id FROM rec WHERE source_dataset IN ({crim_codes})),
        party AS (
            SELECT CASE r.source_dataset {party_courts} END AS court, p.role, r.xjs, r.person_id
            FROM rec r JOIN ({parties}) p USING (row_id_hash)
        ),
        scored AS (
            SELECT court, role,
                   EXISTS (SELECT 1 FROM crim c WHERE c.person_id = party.person_id) AS truly_criminal,
                   EXISTS (SELECT 1 FROM crim c WHERE c.person_id = party.person_id AND c.xjs = party.xjs) AS found,
                   EXISTS (SELECT 1 FROM crim c WHERE c.xjs = party.xjs AND c.person_id <> party.person_id)
                       AS false_link
            FROM party
        )
        SELECT court, role, count(*) AS records, count(*) FILTER (WHERE truly_criminal) AS truly_criminal,
               count(*) FILTER (WHERE found) AS found,
               round(100 * count(*) FILTER (WHERE found) / nullif(count(*) FILTER (WHERE truly_criminal), 0), 1)
                   AS recall_pct,
               count(*) FILTER (WHERE false_link) AS false_link,
               round(100 * count(*) FILTER (WHERE false_link) / count(*), 2) AS false_link_pct
        FROM scored GROUP BY court, role ORDER BY court, role
        """
    ).df()
