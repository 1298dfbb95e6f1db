"""The same seed gives the same data whatever the number of workers; another seed gives other data."""

from __future__ import annotations

import hashlib

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import golden
from conftest import SEED, scalar, table_keys
from sdfirst.database import one_file, read_sql
from sdfirst.synth import generate
from sdfirst.synth.output import combine_hashes, content_hash, content_hashes

PEOPLE, CHUNK = 6_000, 2_000  # three chunks


def _run(root, name: str, seed: int = SEED, workers: int = 1):
    folder = root / name
    manifest = generate(folder, people=PEOPLE, seed=seed, workers=workers, chunk_people=CHUNK)
    return folder, manifest


def _hashes(manifest: dict) -> dict[str, str]:
    return golden.manifest_hashes(manifest)


def _file_digests(folder) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("determinism")
    return {
        "one": _run(root, "one"),
        "two": _run(root, "two", workers=2),
        "again": _run(root, "again"),
        "other": _run(root, "other", seed=SEED + 1),
    }


def test_several_chunks(runs):
    _, manifest = runs["one"]
    assert len(manifest["tables"]["truth.people"]["files"]) >= 3


def test_workers_do_not_change_the_data(runs):
    (one, m1), (two, m2) = runs["one"], runs["two"]
    assert _hashes(m1) == _hashes(m2)
    assert m1 == m2
    assert _file_digests(one) == _file_digests(two), "same content but different Parquet bytes"


def test_a_second_run_is_identical(runs):
    (one, m1), (again, m3) = runs["one"], runs["again"]
    assert _hashes(m1) == _hashes(m3)
    assert _file_digests(one) == _file_digests(again)


def test_another_seed_gives_other_data(runs):
    h1, h4 = _hashes(runs["one"][1]), _hashes(runs["other"][1])
    same = [key for key in h1 if h1[key] == h4[key] and runs["one"][1]["tables"][key]["rows"]]
    assert not same, f"tables unchanged by the seed: {same}"


def test_content_hash_is_recomputable(runs):
    folder, manifest = runs["one"]
    con = duckdb.connect()
    for key, info in manifest["tables"].items():
        parts = []
        for i in range(len(info["files"])):  # each file alone (with its year's columns, if it has a year)
            parts.append(content_hash(con.sql(f"SELECT * FROM {read_sql(folder, one_file(info, i))}").to_arrow_table()))
        assert combine_hashes(parts) == info["content_hash"], key


@pytest.mark.parametrize("key", table_keys())
def test_connect_row_counts_equal_manifest(con, generated, key):
    _, manifest = generated
    assert scalar(con, f"SELECT count(*) FROM {key}") == manifest["tables"][key]["rows"]


def _rows(**columns) -> pa.Table:
    return pa.table(columns)


def test_content_hash_ignores_row_order_and_file_split():
    table = _rows(a=[1, 2, None, 4], b=["x", None, "z", "w"])
    whole = content_hash(table)
    assert content_hash(table.take([3, 1, 0, 2])) == whole
    assert combine_hashes([content_hash(table.slice(0, 1)), content_hash(table.slice(1))]) == f"{whole:016x}"


def test_content_hash_sees_values_moved_between_columns_nulls_and_duplicates():
    base = content_hash(_rows(a=["x", "y"], b=["y", "x"]))
    assert content_hash(_rows(a=["x", "x"], b=["y", "y"])) != base
    assert content_hash(_rows(a=["x", None], b=["y", "x"])) != base
    assert content_hash(_rows(a=["x", ""], b=["y", "x"])) != base
    assert content_hash(_rows(a=["x", "y", "x"], b=["y", "x", "y"])) != base


def test_content_hash_of_no_rows_is_zero():
    assert content_hash(_rows(a=pa.array([], pa.int64()))) == 0


def test_content_hashes_of_several_tables_equal_one_at_a_time():
    tables = [
        _rows(a=[1, 2, 3]),
        _rows(a=pa.array([], pa.int64())),
        _rows(b=["x", None], c=[True, False]),
    ]
    assert content_hashes(tables) == [content_hash(t) for t in tables]
    assert content_hashes(tables)[1] == 0
    assert content_hashes([]) == []


def test_keys_skip_the_dictionary_and_codes_keep_it(tmp_path):
    """Near-unique strings are written delta-length encoded, repeated ones dictionary encoded; both read back."""
    import duckdb

    from sdfirst.synth.output import write_part

    n = 2000
    table = pa.table(
        {
            "row_id_hash": [f"{i * 7919:016x}" for i in range(n)],
            "sex": ["M", "F"] * (n // 2),
            "year": list(range(n)),
        }
    )
    write_part(table, tmp_path, 0)
    path = tmp_path / "part-00000.parquet"
    columns = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {columns.column(i).path_in_schema: columns.column(i).encodings for i in range(3)}
    assert "DELTA_LENGTH_BYTE_ARRAY" in encodings["row_id_hash"]
    assert "RLE_DICTIONARY" not in encodings["row_id_hash"]
    assert "RLE_DICTIONARY" in encodings["sex"]
    assert pq.read_table(path).equals(table)
    assert duckdb.sql(f"SELECT count(DISTINCT row_id_hash) FROM '{path}'").fetchall() == [(n,)]
