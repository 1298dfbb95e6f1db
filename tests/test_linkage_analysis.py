"""Helpers for the linking chapters: comparisons per blocking rule in samples, people per dataset combination."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from sdfirst.exceptions import DataFirstError
from sdfirst.linkage.blocking import all_pairs, comparisons_by_sample, hash_fraction_sql
from sdfirst.linkage.coverage import dataset_combinations, people_by_number_of_datasets


@pytest.fixture
def records() -> duckdb.DuckDBPyConnection:
    """Eight records of four people (by `person`), with a null surname and a null date of birth."""
    con = duckdb.connect()
    con.execute("""
        CREATE TABLE records AS SELECT * FROM (VALUES
            ('r1', 'p1', 'smith', DATE '1980-01-01'),
            ('r2', 'p1', 'smith', DATE '1980-01-01'),
            ('r3', 'p2', 'smith', DATE '1975-05-05'),
            ('r4', 'p3', 'jones', DATE '1980-01-01'),
            ('r5', 'p3', 'jones', NULL),
            ('r6', 'p4', NULL, DATE '1980-01-01'),
            ('r7', 'p4', 'brown', DATE '1990-09-09'),
            ('r8', 'p4', 'smith', DATE '1980-01-01')
        ) AS t(unique_id, person, surname, date_of_birth)""")
    return con


def test_all_pairs():
    assert [all_pairs(n) for n in (0, 1, 2, 5, 84_299)] == [0, 0, 1, 10, 3_553_118_551]


def test_rule_counts_known_answer(records):
    rules = {"surname": ["surname"], "surname + dob": ["surname", "date_of_birth"], "dob": ["date_of_birth"]}
    out = comparisons_by_sample(records, "records", rules, fractions=[1.0]).set_index("rule")
    # surname: smith x4 -> 6 pairs, jones x2 -> 1, brown x1 -> 0, null never pairs: 7
    # surname + dob: (smith, 1980-01-01) x3 -> 3; every other block has one record: 3
    # dob: 1980-01-01 x5 -> 10, 1975 x1, 1990 x1; the null never pairs: 10
    assert out["pairs"].to_dict() == {"surname": 7, "surname + dob": 3, "dob": 10}
    assert set(out["records"]) == {8}
    assert set(out["all_pairs"]) == {28}
    assert out.loc["surname", "share"] == pytest.approx(7 / 28)


def test_expression_keys(records):
    out = comparisons_by_sample(records, "records", {"initial": ["substr(surname, 1, 1)"]}, fractions=[1.0])
    # s x4 -> 6, j x2 -> 1, b x1 -> 0
    assert out["pairs"].tolist() == [7]


def _fraction(value: str) -> float:
    return int(hashlib.md5(value.encode()).hexdigest()[:8], 16) / 2**32


def test_hash_fraction_matches_md5():
    con = duckdb.connect()
    for value in ("r1", "abc", "0001f56db20d487e"):
        got = con.execute(f"SELECT {hash_fraction_sql('?')}", [value]).fetchone()[0]
        assert got == pytest.approx(_fraction(value))
        assert 0 <= got < 1


def test_samples_nested_and_by_unit(records):
    fractions = [0.25, 0.5, 0.75, 1.0]
    by_record = comparisons_by_sample(records, "records", {"surname": ["surname"]}, fractions=fractions)
    expected = [sum(_fraction(f"r{i}") < f for i in range(1, 9)) for f in fractions]
    assert by_record["records"].tolist() == expected
    assert by_record["records"].is_monotonic_increasing
    assert by_record["pairs"].is_monotonic_increasing

    by_person = comparisons_by_sample(records, "records", {"surname": ["surname"]}, fractions, sample_by="person")
    sizes = {"p1": 2, "p2": 1, "p3": 2, "p4": 3}
    assert by_person["records"].tolist() == [sum(n for p, n in sizes.items() if _fraction(p) < f) for f in fractions]


def test_bad_fraction_and_rule(records):
    with pytest.raises(DataFirstError):
        comparisons_by_sample(records, "records", {"surname": ["surname"]}, fractions=[0.0])
    with pytest.raises(DataFirstError):
        comparisons_by_sample(records, "records", {"nothing": []}, fractions=[1.0])


def test_dataset_combinations_known_answer():
    con = duckdb.connect()
    con.execute("""
        CREATE TABLE link AS SELECT * FROM (VALUES
            ('mags', 'a1', 'x1'), ('mags', 'a2', 'x1'), ('probation', 'a3', 'x1'),
            ('mags', 'a4', 'x2'),
            ('family', 'a5', 'x3'), ('civil', 'a6', 'x3'),
            ('mags', 'a7', 'x4')
        ) AS t(source_dataset, row_id_hash, estimated_xjs_id)""")
    out = dataset_combinations(con, "link")
    assert out.to_dict("records") == [
        {"combination": "mags", "datasets": 1, "people": 2, "records": 2},
        {"combination": "civil + family", "datasets": 2, "people": 1, "records": 2},
        {"combination": "mags + probation", "datasets": 2, "people": 1, "records": 3},
    ]
    assert people_by_number_of_datasets(out).to_dict() == {1: 2, 2: 2}
