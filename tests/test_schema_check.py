"""check-schema: every difference between an extract folder and the specs is reported, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sdfirst.cli import main
from sdfirst.exceptions import DataFirstError
from sdfirst.schema_check import Difference, check_folder, choose_datasets, report, type_matches
from sdfirst.specs import datasets


def _write(folder: Path, dataset: str, table: str, schema: pa.Schema, single_file: bool = False) -> None:
    """An empty table with this schema, in the generator's layout (or as one file per table), or under the
    release's own file names where the spec gives them."""
    spec = datasets()[dataset].tables.get(table)
    if spec is not None and spec.files is not None:
        for part in range(spec.files.parts):
            (folder / dataset).mkdir(parents=True, exist_ok=True)
            pq.write_table(schema.empty_table(), folder / dataset / spec.files.name.format(part=part + 1))
        return
    path = folder / dataset / (f"{table}.parquet" if single_file else f"{table}/part-0.parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(schema.empty_table(), path)


def _exact_copy(folder: Path, dataset: str) -> None:
    for name, spec in datasets()[dataset].tables.items():
        _write(folder, dataset, name, spec.release_schema)


def test_exact_copy_has_no_differences(tmp_path):
    _exact_copy(tmp_path, "magistrates")
    _exact_copy(tmp_path, "truth")  # other datasets' folders are ignored
    assert check_folder(tmp_path, "magistrates") == []
    text, ok = report(tmp_path, "magistrates")
    assert ok
    assert text.startswith("schema OK:") and "magistrates" in text


def test_generated_folder_matches_its_specs(generated):
    folder, _manifest = generated
    assert check_folder(folder, "all") == []


def test_one_file_per_table_layout_is_accepted(tmp_path):
    for name, spec in datasets()["magistrates"].tables.items():
        _write(tmp_path, "magistrates", name, spec.release_schema, single_file=True)
    assert check_folder(tmp_path, ["magistrates"]) == []


def test_release_files_are_looked_for_by_their_real_names(tmp_path):
    """Probation comes as moj_probation_flatfile_01 .. _30: a missing one, a stray file and a column no release
    has (a name: identifiers stay with the linking team) are each reported."""
    _exact_copy(tmp_path, "probation")
    assert check_folder(tmp_path, ["probation"]) == []
    (tmp_path / "probation" / "moj_probation_flatfile_07").unlink()
    (tmp_path / "probation" / "notes.txt").write_text("mine", encoding="utf-8")
    flatfile = datasets()["probation"].tables["flatfile"]
    pq.write_table(flatfile.schema.empty_table(), tmp_path / "probation" / "moj_probation_flatfile_08")
    found = {(d.table, d.kind, d.detail.split(" ")[0]) for d in check_folder(tmp_path, ["probation"])}
    identifiers = {c.name for c in flatfile.columns if c.identifier}
    assert found == {
        ("probation.flatfile", "missing file", "moj_probation_flatfile_07"),
        ("probation.notes.txt", "extra file", "not"),
    } | {("probation.flatfile", "extra column", name) for name in identifiers}
    assert identifiers == {"forename", "surname", "date_of_birth", "postcode"}


def test_a_table_with_no_release_file_is_missing_by_its_real_names(tmp_path):
    _exact_copy(tmp_path, "probation")
    for path in (tmp_path / "probation").glob("moj_probation_rqmnts_*"):
        path.unlink()
    (diff,) = check_folder(tmp_path, ["probation"])
    assert (
        diff.kind == "missing table" and "probation/moj_probation_rqmnts_01 .. moj_probation_rqmnts_30" in diff.detail
    )


def test_every_kind_of_difference_is_reported(tmp_path):
    specs = datasets()["magistrates"].tables
    summary = specs["case_summary"].release_schema
    summary = summary.remove(summary.get_field_index("plea"))  # missing column
    summary = summary.append(pa.field("nickname", pa.string()))  # extra column
    at = summary.get_field_index("first_hearing_date")
    summary = summary.set(at, pa.field("first_hearing_date", pa.string()))  # a date stored as text
    _write(tmp_path, "magistrates", "case_summary", summary)
    _write(tmp_path, "magistrates", "hearings", pa.schema([("x", pa.int64())]))  # a table the spec lacks
    # magistrates.offence is not written at all: a missing table
    found = {(d.table, d.kind, d.detail.split(" ")[0]) for d in check_folder(tmp_path, "magistrates")}
    assert found == {
        ("magistrates.case_summary", "missing column", "plea"),
        ("magistrates.case_summary", "extra column", "nickname"),
        ("magistrates.case_summary", "wrong type", "first_hearing_date"),
        ("magistrates.offence", "missing table", "no"),
        ("magistrates.hearings", "extra table", "not"),
    }


def test_each_file_of_a_chunked_table_is_checked(tmp_path):
    _exact_copy(tmp_path, "probation")
    spec = datasets()["probation"].tables["rqmnts"]
    drifted = spec.release_schema.remove(0)
    pq.write_table(drifted.empty_table(), tmp_path / "probation" / "moj_probation_rqmnts_02")
    diffs = check_folder(tmp_path, "probation")
    assert diffs == [
        Difference("probation.rqmnts", "missing column", f"{spec.columns[0].name} (in moj_probation_rqmnts_02)")
    ]


@pytest.mark.parametrize(
    ("spec_type", "arrow_type", "accepted"),
    [
        ("int", pa.int32(), True),
        ("int", pa.float64(), False),
        ("float", pa.float32(), True),
        ("string", pa.large_string(), True),
        ("string", pa.dictionary(pa.int32(), pa.string()), True),
        ("date", pa.date64(), True),
        ("date", pa.timestamp("us"), False),
        ("date", pa.string(), False),
        ("bool", pa.bool_(), True),
        ("bool", pa.int8(), False),
    ],
)
def test_type_families(spec_type, arrow_type, accepted):
    assert type_matches(spec_type, arrow_type) is accepted


def test_choose_datasets_keeps_spec_order_and_refuses_the_truth():
    assert choose_datasets("crown_court, magistrates") == ["magistrates", "crown_court"]
    assert "truth" not in choose_datasets("all")
    with pytest.raises(DataFirstError, match="unknown dataset 'truth'"):
        choose_datasets("magistrates,truth")
    with pytest.raises(DataFirstError, match="no datasets"):
        choose_datasets(" , ")


def test_cli_exit_status_and_messages(tmp_path, capsys):
    _exact_copy(tmp_path, "crown_court")
    assert main(["check-schema", str(tmp_path), "--datasets", "crown_court"]) == 0
    assert capsys.readouterr().out.startswith("schema OK:")
    assert main(["check-schema", str(tmp_path), "--datasets", "crown_court,prison"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("schema differs: 4 differences")  # prison has four tables, none present
    assert all(line.startswith("prison.") and ": missing table: " in line for line in err[:-1])


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["check-schema", str(tmp_path / "absent"), "--datasets", "magistrates"]) == 2
    assert main(["check-schema", str(tmp_path), "--datasets", "nonsense"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("sdfirst: error:") for line in lines)
