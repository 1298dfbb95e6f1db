"""The truth map: every released row is mapped to its true person exactly once, and the truth never leaks."""

from __future__ import annotations

import pytest

from conftest import scalar, table_keys
from sdfirst.ground_truth import person_join
from sdfirst.specs import table

RELEASED = table_keys(include_truth=False)
KEYED = [key for key in RELEASED if table(key).truth_key is None]  # with a row key: truth.record_person has them
LEAK_SHARE = 0.01  # coincidences (a count or a length equal to a small person id) are allowed, a copy is not


def test_record_person_covers_exactly_the_released_tables(con, generated):
    _, manifest = generated
    grouped = con.execute("SELECT dataset, table_name, count(*) FROM truth.record_person GROUP BY ALL")
    counts = {f"{d}.{t}": n for d, t, n in grouped.fetchall()}
    expected = {key: manifest["tables"][key]["rows"] for key in KEYED}
    assert counts == {k: n for k, n in expected.items() if n}
    assert scalar(con, "SELECT count(*) FROM truth.record_person") == sum(expected.values())


@pytest.mark.parametrize("key", KEYED)
def test_every_row_mapped_once_to_its_table(con, key):
    dataset, name = key.split(".")
    bad = scalar(
        con,
        f"""
        SELECT count(*) FROM {key} x LEFT JOIN (
            SELECT row_id_hash, count(*) AS n, any_value(dataset) AS d, any_value(table_name) AS t
            FROM truth.record_person GROUP BY row_id_hash) r USING (row_id_hash)
        WHERE r.n IS NULL OR r.n <> 1 OR r.d <> '{dataset}' OR r.t <> '{name}'""",
    )
    assert bad == 0, f"{bad} rows of {key} are not mapped exactly once to ({dataset}, {name})"


def test_every_person_exists(con):
    assert scalar(con, "SELECT count(*) FROM truth.people") == scalar(
        con, "SELECT count(DISTINCT person_id) FROM truth.people"
    ), "truth.people.person_id is not unique"
    orphans = scalar(
        con,
        """SELECT count(*) FROM truth.record_person r
                             LEFT JOIN truth.people p USING (person_id)
                             WHERE r.person_id IS NOT NULL AND p.person_id IS NULL""",
    )
    assert orphans == 0
    orphans = scalar(
        con,
        """SELECT count(*) FROM truth.addresses a LEFT JOIN truth.people p USING (person_id)
                             WHERE p.person_id IS NULL""",
    )
    assert orphans == 0


@pytest.mark.parametrize("key", [k for k in RELEASED if "party_type" in table(k).column_names])
def test_only_people_have_a_person(con, key):
    bad = scalar(
        con,
        f"""SELECT count(*) FROM {key} x JOIN truth.record_person r USING (row_id_hash)
                          WHERE (x.party_type = 'Person') <> (r.person_id IS NOT NULL)""",
    )
    assert bad == 0, f"{key}: {bad} parties whose person_id does not match their party_type"


@pytest.mark.parametrize("key", [key for key in RELEASED if key not in KEYED])
def test_every_row_of_the_share_has_one_true_person(con, key):
    """The share's files have no row key: each row's person id (its `truth_key`) names one true person."""
    bad = scalar(
        con,
        f"""SELECT count(*) FROM {key} x LEFT JOIN (
            SELECT key_name, key_value, count(*) AS n FROM truth.key_person GROUP BY ALL) r
            ON r.key_name = '{table(key).truth_key.key}' AND r.key_value = x."{table(key).truth_key.column}"
            WHERE r.n IS NULL OR r.n <> 1""",
    )
    assert bad == 0, f"{bad} rows of {key} have no single true person"


def test_row_id_hash_unique_across_the_folder(con):
    union = " UNION ALL ".join(f"SELECT row_id_hash FROM {key}" for key in KEYED)
    total, distinct, malformed = con.execute(f"""
        SELECT count(*), count(DISTINCT row_id_hash),
               count(*) FILTER (WHERE NOT regexp_full_match(row_id_hash, '[0-9a-f]{{16}}'))
        FROM ({union})""").fetchone()
    assert distinct == total, f"{total - distinct} duplicate row_id_hash values across the folder"
    assert malformed == 0


@pytest.mark.parametrize("key", RELEASED)
def test_no_column_is_the_true_person_id(con, key):
    rows = scalar(con, f"SELECT count(*) FROM {key}")
    checks = []
    for col in table(key).columns:
        if col.type not in ("int", "string"):
            continue
        value = f'CAST(x."{col.name}" AS VARCHAR)'
        checks.append(f"""count(*) FILTER (WHERE {value} = CAST(r.person_id AS VARCHAR)
                          OR {value} = lpad(lower(hex(r.person_id)), 16, '0'))""")
    hits = con.execute(f"""SELECT {", ".join(checks)} FROM {key} x {person_join(key)}""").fetchone()
    columns = [c.name for c in table(key).columns if c.type in ("int", "string")]
    leaks = {c: h for c, h in zip(columns, hits, strict=True) if h > LEAK_SHARE * rows}
    assert not leaks, f"{key}: columns equal to the true person_id in many rows: {leaks} of {rows}"
