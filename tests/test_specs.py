"""The specs load, and the generated Parquet matches them exactly: tables, schemas, code lists and nulls."""

from __future__ import annotations

import copy
import re

import pyarrow.parquet as pq
import pytest

from conftest import scalar, table_keys
from sdfirst.database import text_rows
from sdfirst.dictionary import linking_tables
from sdfirst.schema_check import is_release_file
from sdfirst.specs import ARROW_TYPES, PROVENANCE, datasets, load_yaml, named_datasets, spec_dir, table, year_of

KEYS = table_keys()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def test_every_spec_loads():
    order = load_yaml("datasets/order.yaml")["order"]
    specs = datasets()
    assert list(specs) == order
    for name, spec in specs.items():
        assert spec.name == name
        assert spec.tables, f"{name} has no tables"
        assert spec.coverage[0] <= spec.coverage[1], f"{name}: coverage ends before it starts"
        for tspec in spec.tables.values():
            assert tspec.columns, f"{tspec.key} has no columns"
    for path in sorted(spec_dir().glob("*.yaml")):
        assert load_yaml(path.name) is not None, path.name


def test_truth_is_always_written_and_last():
    specs = datasets()
    always = [name for name, spec in specs.items() if spec.always]
    assert always == ["truth"]
    assert list(specs)[-1] == "truth"


@pytest.mark.parametrize("key", KEYS)
def test_columns_are_well_formed(key):
    for col in table(key).columns:
        assert col.type in ARROW_TYPES
        assert col.provenance in PROVENANCE
        assert col.description.strip(), f"{key}.{col.name} has no description"
        if col.provenance == "confirmed":
            assert col.source and col.source.strip(), f"{key}.{col.name} is confirmed but has no source"
        if col.codes is not None:
            assert len(set(col.codes)) == len(col.codes), f"{key}.{col.name}: duplicate codes"


CHECKABLE = re.compile(r"github\.com/[\w.-]+/[\w.-]+, \S|https?://\S+")  # a repository and a file, or an address


def test_every_confirmed_name_has_a_source_one_can_check():
    """ "Confirmed" means someone can go and look: a public repository and the file that uses the name, or the
    address of a page that states it; a catalogue's name alone cannot be checked."""
    tables = [*(t for d in datasets().values() for t in d.tables.values()), *linking_tables().values()]
    unchecked = [
        f"{t.key}.{c.name}: {c.source}"
        for t in tables
        for c in t.columns
        if c.provenance == "confirmed" and not CHECKABLE.search(c.source or "")
    ]
    unchecked += [
        f"{t.key}: {t.source}" for t in tables if t.provenance == "confirmed" and not CHECKABLE.search(t.source or "")
    ]
    assert unchecked == []
    assert {t.key for t in tables if t.teaching} >= {"prison.rotl", "truth.people"}
    assert not [t.key for t in tables if t.teaching and t.provenance == "confirmed"]
    assert sum(c.provenance == "confirmed" for t in tables for c in t.columns) > 50


def test_manifest_lists_exactly_the_spec_tables(generated):
    _, manifest = generated
    assert list(manifest["tables"]) == KEYS
    assert manifest["datasets"] == list(datasets())


@pytest.mark.parametrize("key", KEYS)
def test_table_on_disk(generated, key):
    """Every file the manifest lists is there and nothing else: a chunk's part each, or the release's own files."""
    folder, manifest = generated
    spec = table(key)
    info = manifest["tables"][key]
    assert info["columns"] == spec.release_schema.names
    chunks = -(-manifest["people"] // manifest["chunk_people"])
    rows = 0
    for name in info["files"]:
        path = folder / name
        assert path.is_file(), f"{key}: {name} is in the manifest but not on disk"
        rows += text_rows(path) if info["format"] == "csv" else pq.ParquetFile(path).metadata.num_rows
    if spec.files is None:
        assert len(info["files"]) == chunks
        on_disk = sorted(p.relative_to(folder).as_posix() for p in (folder / key.replace(".", "/")).iterdir())
    else:
        assert spec.files.parts is None or len(info["files"]) == spec.files.parts
        found = (folder / spec.dataset).iterdir()
        on_disk = sorted(f"{spec.dataset}/{p.name}" for p in found if is_release_file(spec, p.name))
    assert on_disk == sorted(info["files"]), f"{key}: files on disk differ from the manifest"
    assert rows == info["rows"]


@pytest.mark.parametrize("key", KEYS)
def test_schema_equals_spec(generated, key):
    """Each file holds the spec's columns less its identifiers, in order and type; the identifiers' companion holds
    row_id_hash and the identifiers."""
    folder, manifest = generated
    spec = table(key)
    expected = [c for c in spec.columns if not c.identifier]
    for name in manifest["tables"][key]["files"]:
        if manifest["tables"][key]["format"] == "csv":  # text has no types: its header names the columns
            with (folder / name).open(encoding="utf-8") as text:
                header = text.readline().strip().replace('"', "").split(",")
            year = year_of(name) if spec.files.by else None
            suffix = spec.files.suffix(year) if year is not None else ""
            names = [f"{c.name}{suffix}" for c in spec.file_columns(year)]
            assert header == names, f"{name}: column names or order"
            continue
        schema = pq.read_schema(folder / name)
        assert schema.names == [c.name for c in expected], f"{name}: column names or order"
        for field, col in zip(schema, expected, strict=True):
            assert field.type == col.arrow_type, f"{name}.{col.name}: {field.type} is not {col.arrow_type}"
            assert field.nullable == col.nullable, f"{name}.{col.name}: nullable {field.nullable}"
        assert schema.remove_metadata().equals(spec.release_schema), name
    companion = manifest["identified"]["tables"].get(key)
    identifiers = ["row_id_hash", *(c.name for c in spec.columns if c.identifier)]
    assert (companion is None) == (len(identifiers) == 1), key
    for name in companion["files"] if companion else []:
        assert pq.read_schema(folder / name).names == identifiers, name


@pytest.mark.parametrize("key", [k for k in KEYS if any(c.codes for c in table(k).columns)])
def test_coded_values_are_in_their_code_list(con, key):
    for col in table(key).columns:
        if not col.codes:
            continue
        name = _quoted(col.name)
        sql = f"SELECT DISTINCT CAST({name} AS VARCHAR) FROM {key} WHERE {name} IS NOT NULL"
        values = con.execute(sql).fetchall()
        unknown = sorted({v for (v,) in values} - set(col.codes))
        assert not unknown, f"{key}.{col.name}: values outside the code list: {unknown[:10]}"


@pytest.mark.parametrize("key", KEYS)
def test_non_nullable_columns_have_no_nulls(con, key):
    required = [c.name for c in table(key).columns if not c.nullable]
    if not required:
        return
    counts = ", ".join(f"count(*) FILTER (WHERE {_quoted(c)} IS NULL)" for c in required)
    nulls = con.execute(f"SELECT {counts} FROM {key}").fetchone()
    bad = {c: n for c, n in zip(required, nulls, strict=True) if n}
    assert not bad, f"{key}: nulls in non-nullable columns {bad}"


@pytest.mark.parametrize("key", KEYS)
def test_every_table_has_rows(con, key):
    """At 30,000 people every table has something in it (an empty table would test nothing)."""
    assert scalar(con, f"SELECT count(*) FROM {key}") > 0


def test_a_column_with_an_unknown_key_is_refused():
    """An unquoted comma in a flow mapping turns the rest of a description into a stray key: refuse it."""
    from sdfirst.exceptions import DataFirstError
    from sdfirst.spec_schema import check

    spec = copy.deepcopy(load_yaml("datasets/magistrates.yaml"))
    column = spec["tables"]["case_summary"]["columns"][2]
    column["nicknames and swaps occur)"] = None
    with pytest.raises(DataFirstError, match=r"columns\[2\]: unknown key 'nicknames and swaps occur\)' \(is a value"):
        check("datasets/magistrates.yaml", spec, "magistrates.yaml")
    del column["nicknames and swaps occur)"]
    check("datasets/magistrates.yaml", spec, "magistrates.yaml")


def test_descriptions_end_as_sentences():
    """Every description is a whole sentence: none is cut short by YAML."""
    for key in KEYS:
        for col in table(key).columns:
            assert col.description.endswith((".", ")")), f"{key}.{col.name}: {col.description!r}"


def test_named_datasets_parses_lists_and_keeps_the_given_order():
    from sdfirst.exceptions import DataFirstError

    known = ["magistrates", "crown_court", "prison"]
    assert named_datasets(None, known) == known
    assert named_datasets("all", known) == known
    assert named_datasets(" prison, magistrates ", known) == ["magistrates", "prison"]
    assert named_datasets(["crown_court"], known) == ["crown_court"]
    for empty in ("", " , ", []):  # naming none is a mistake, not a request for nothing
        with pytest.raises(DataFirstError, match="no datasets named"):
            named_datasets(empty, known)
    with pytest.raises(DataFirstError, match="unknown dataset 'probation'; choose from magistrates"):
        named_datasets("probation", known)
