"""The two views of one simulation: the release, as researchers receive it, and the identified records kept apart.

No real extract has a name, a date of birth or a postcode; the synthetic release must not have one either, or code
written on it could use columns the researcher will never have. The identified view must still give the linkage every
column it had, in the spec's order, and nothing else may differ between the two.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

import sdfirst
from sdfirst.exceptions import DataFirstError
from sdfirst.extract import open_tables
from sdfirst.specs import datasets
from sdfirst.synth.output import content_hash

IDENTIFIERS = {"forename", "middle_name", "surname", "date_of_birth", "postcode"}


def _columns(con: duckdb.DuckDBPyConnection, key: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM {key} LIMIT 0").description]


def _release_tables(manifest: dict) -> list[str]:
    return [key for key in manifest["tables"] if not key.startswith("truth.")]


def test_the_release_has_no_identifier(generated):
    folder, manifest = generated
    con = sdfirst.connect(folder)
    for key in _release_tables(manifest):
        assert not IDENTIFIERS & set(_columns(con, key)), key


def test_no_file_outside_identified_holds_an_identifier(generated):
    """(The truth holds every person's true details, and is no release either: it is for measuring.)"""
    folder, _ = generated
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json"):
        if path.relative_to(folder).parts[0] in ("identified", "truth"):
            continue
        if path.suffix == ".csv":
            with path.open(encoding="utf-8") as text:
                names = set(text.readline().strip().replace('"', "").split(","))
        else:
            names = set(pq.read_schema(path).names)
        assert not IDENTIFIERS & names, path.relative_to(folder)


def test_the_identified_view_has_every_column_of_the_spec_in_order(generated):
    folder, manifest = generated
    con = sdfirst.connect(folder, view="identified")
    for dataset in manifest["datasets"]:
        for spec in datasets()[dataset].tables.values():
            assert _columns(con, spec.key) == spec.column_names, spec.key


def test_the_two_views_agree_on_every_released_column(generated):
    """The identified view is the release with identifiers joined back: the same rows, in the same order, each with
    its own identifiers (joined on row_id_hash, which is unique in every table)."""
    folder, manifest = generated
    release, identified = sdfirst.connect(folder), sdfirst.connect(folder, view="identified")
    for key in manifest["identified"]["tables"]:
        columns = ", ".join(f'"{c}"' for c in manifest["tables"][key]["columns"])
        assert (
            release.execute(f"SELECT {columns} FROM {key}").fetchall()
            == identified.execute(f"SELECT {columns} FROM {key}").fetchall()
        ), key
        rows, distinct, named = identified.execute(
            f"SELECT count(*), count(DISTINCT row_id_hash), count(surname) FROM {key}"
        ).fetchone()
        assert rows == distinct == manifest["tables"][key]["rows"]
        assert named > 0.5 * rows, f"{key}: identifiers did not join back"


def test_probation_comes_in_the_release_files(generated):
    folder, manifest = generated
    names = sorted(p.name for p in (folder / "probation").iterdir())
    assert names == [f"moj_probation_{t}_{i:02d}" for t in ("flatfile", "rqmnts") for i in range(1, 31)]
    for table in ("flatfile", "rqmnts"):
        rows = sum(
            pq.read_metadata(folder / "probation" / f"moj_probation_{table}_{i:02d}").num_rows for i in range(1, 31)
        )
        assert rows == manifest["tables"][f"probation.{table}"]["rows"] > 0


def test_files_are_cut_evenly_and_keep_the_generated_order(generated):
    """Thirty files of nearly equal size; the rows in file order are the rows in the chunks' order, so the identified
    companion (written per chunk) lines up with them."""
    folder, manifest = generated
    sizes = [pq.read_metadata(folder / "probation" / f"moj_probation_flatfile_{i:02d}").num_rows for i in range(1, 31)]
    assert max(sizes) - min(sizes) <= 1
    files = manifest["identified"]["tables"]["probation.flatfile"]["files"]
    companion = pq.read_table([folder / name for name in files]).column("row_id_hash").to_pylist()
    parts = [folder / "probation" / f"moj_probation_flatfile_{i:02d}" for i in range(1, 31)]
    released = [value for path in parts for value in pq.read_table(path).column("row_id_hash").to_pylist()]
    assert companion == released


def test_a_folder_without_its_manifest_opens_as_an_extract(generated, tmp_path):
    """The real extract has no manifest: found by the specs, the tables hold what connect gives."""
    folder, manifest = generated
    copy = tmp_path / "extract"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("manifest.json", "identified", "truth"))
    con = duckdb.connect()
    opened = open_tables(con, copy)
    assert sorted(opened) == sorted(_release_tables(manifest))
    release = sdfirst.connect(folder)
    for key in opened:
        assert con.execute(f"SELECT count(*) FROM {key}").fetchone() == (manifest["tables"][key]["rows"],)
        assert _columns(con, key) == _columns(release, key)
        rows = con.sql(f"SELECT * FROM {key}").to_arrow_table()  # the same values, the census's years included
        assert f"{content_hash(rows):016x}" == manifest["tables"][key]["content_hash"], key


def test_an_unknown_view_is_one_line(generated):
    with pytest.raises(DataFirstError, match="view must be one of release, identified"):
        sdfirst.connect(generated[0], view="everything")


def test_a_missing_companion_file_is_named_only_when_it_is_needed(generated, tmp_path):
    folder, manifest = generated
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    victim = Path(manifest["identified"]["tables"]["magistrates.case_summary"]["files"][0])
    (copy / victim).unlink()
    assert sdfirst.connect(copy).execute("SELECT count(*) FROM magistrates.case_summary").fetchone()[0] > 0
    with pytest.raises(DataFirstError, match=f"{victim.name} is missing"):
        sdfirst.connect(copy, view="identified")


def test_the_manifest_lists_a_companion_for_each_table_with_identifiers(generated):
    _, manifest = generated
    assert "never part of a release" in manifest["identified"]["about"]
    expected = {
        spec.key
        for dataset in manifest["datasets"]
        for spec in datasets()[dataset].tables.values()
        if any(c.identifier for c in spec.columns)
    }
    assert set(manifest["identified"]["tables"]) == expected
    assert {"magistrates.case_summary", "probation.flatfile", "family.parties"} <= expected


def test_every_table_reads_back_as_it_was_written(generated):
    """Read through connect, each table (Parquet or delimited text) has the content hash of the rows written: text
    loses no type, no missing value and no empty string on the way."""
    folder, manifest = generated
    con = sdfirst.connect(folder)
    for key, info in manifest["tables"].items():
        rows = con.sql(f"SELECT * FROM {key}").to_arrow_table()
        assert f"{content_hash(rows):016x}" == info["content_hash"], f"{key} ({info['format']})"


def test_the_share_comes_as_delimited_text_one_file_per_year(generated):
    folder, manifest = generated
    census = manifest["tables"]["moj_dfe.school_census"]
    assert census["format"] == "csv" and len(census["files"]) > 5
    years = [int(name.removeprefix("moj_dfe/Spring_Census_").removesuffix(".csv")) for name in census["files"]]
    assert years == sorted(years)
    con = sdfirst.connect(folder)
    for name, year in zip(census["files"], years, strict=True):
        with (folder / name).open(encoding="utf-8") as text:
            # as in the real files, every column's name ends in the two digits of the file's year
            assert text.readline().startswith(f'"pupilmatchingrefanonymous_spr{year % 100:02d}",'), name
        header = con.execute(f"SELECT * FROM read_csv('{folder / name}', header = true) LIMIT 0").description
        digits = f"{year % 100:02d}"
        names = {d[0] for d in header}
        assert f"censusyear_spr{digits}" not in names, name  # the year is in the file's name only
        assert (f"llsoa_spr{digits}" in names) == (year <= 2012) and (f"lsoa11_spr{digits}" in names) == (year >= 2013)
        found = con.execute(
            f"SELECT DISTINCT censusyear_spr, llsoa_spr IS NULL, lsoa11_spr IS NULL FROM moj_dfe.school_census "
            f"WHERE censusyear_spr = {year}"
        ).fetchall()
        assert found == [(year, year >= 2013, year <= 2012)], name  # the view puts the year back, and empties
    view = con.execute("SELECT * FROM moj_dfe.school_census LIMIT 0").description
    assert [d[0] for d in view] == census["columns"]  # connect's view drops the digits, so one query reads them all
    assert manifest["tables"]["moj_dfe.pnc_offences"]["files"] == ["moj_dfe/MOJ_PNC.csv"]
