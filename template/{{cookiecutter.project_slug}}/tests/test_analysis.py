"""The starter analysis runs on the synthetic data, and the synthetic data match the specs the extract must match."""

from __future__ import annotations

from sdfirst.schema_check import check_folder

from {{ cookiecutter.project_slug }}.analysis import CROSSTAB, MODEL, crosstab_frame, design, model_frame, table_sizes
from {{ cookiecutter.project_slug }}.data import table_paths


def test_synthetic_folder_matches_the_specs(config):
    assert check_folder(config.folder, list(config.datasets)) == []


def test_every_chosen_dataset_is_found(config):
    found = {key.split(".")[0] for key in table_paths(config)}
    assert found == set(config.datasets)


def test_table_sizes_lists_every_table(con, config):
    sizes = table_sizes(con)
    assert sorted(sizes["dataset"] + "." + sizes["table"]) == sorted(table_paths(config))
    assert (sizes["columns"] > 0).all()


def test_crosstab_frame_has_no_missing_values(con):
    frame = crosstab_frame(con)
    assert list(frame.columns) == [CROSSTAB["rows"], CROSSTAB["columns"]]
    assert len(frame) > 0
    assert not frame.isna().any().any()


def test_design_has_a_constant_and_one_column_per_other_level(con):
    frame = model_frame(con)
    outcome, exog = design(frame)
    levels = frame[MODEL["predictor"]].nunique()
    assert list(exog.columns[:1]) == ["const"]
    assert exog.shape == (len(frame), levels)
    assert len(outcome) == len(frame)
