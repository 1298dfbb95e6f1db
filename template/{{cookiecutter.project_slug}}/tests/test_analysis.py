"""The starter analysis runs on the synthetic data, and the synthetic data match the specs the extract must match."""

from __future__ import annotations

from sdfirst.schema_check import check_folder

from {{ cookiecutter.project_slug }}.analysis import CROSSTAB, MODEL, PEOPLE, design, people_frame, table_sizes
from {{ cookiecutter.project_slug }}.data import LINKING, table_paths


def test_synthetic_folder_matches_the_specs(config):
    assert check_folder(config.folder, list(config.datasets)) == []


def test_every_chosen_dataset_and_the_linking_table_are_found(config):
    found = {key.split(".")[0] for key in table_paths(config)}
    assert found == {*config.datasets, LINKING}


def test_table_sizes_lists_every_table(con, config):
    sizes = table_sizes(con)
    assert sorted(sizes["dataset"] + "." + sizes["table"]) == sorted(table_paths(config))
    assert (sizes["columns"] > 0).all()


def test_people_frame_counts_each_person_once(con):
    frame = people_frame(con)
    assert list(frame.columns[:3]) == ["person", CROSSTAB["rows"], CROSSTAB["columns"]]
    assert len(frame) > 0 and frame["person"].is_unique
    assert not frame.isna().any().any()
    people = con.execute(
        f"SELECT count(DISTINCT k.{PEOPLE['person_id']}) FROM {PEOPLE['table']} r JOIN {PEOPLE['linking_table']} k "
        f"ON k.row_id_hash = r.{PEOPLE['record_id']} AND k.source_dataset = '{PEOPLE['source_dataset']}'"
    ).fetchone()[0]
    records = con.execute(f"SELECT count(*) FROM {PEOPLE['table']}").fetchone()[0]
    assert len(frame) <= people < records  # people with both values known; some people hold several records


def test_design_has_a_constant_and_one_column_per_other_level(con):
    frame = people_frame(con)
    outcome, exog = design(frame)
    levels = frame[MODEL["predictor"]].nunique()
    assert list(exog.columns[:1]) == ["const"]
    assert exog.shape == (len(frame), levels)
    assert len(outcome) == len(frame) and outcome.notna().all()
