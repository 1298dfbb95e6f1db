"""The configuration points at synthetic data by default and at the extract by one setting."""

from __future__ import annotations

import pytest

from {{ cookiecutter.project_slug }}.config import PREFIX, ROOT, ConfigError, load


def test_default_is_synthetic():
    config = load(environ={})
    assert config.source == "synthetic"
    assert config.folder == ROOT / "data" / "synthetic"
    assert list(config.datasets) == {{ chosen_datasets(cookiecutter.datasets) | tojson }}


def test_one_setting_switches_to_the_extract(tmp_path):
    extract = tmp_path / "extract"
    config = load(environ={f"{PREFIX}_SOURCE": "extract", f"{PREFIX}_EXTRACT": str(extract)})
    assert config.source == "extract"
    assert config.folder == extract
    assert not config.is_synthetic


def test_extract_without_a_folder_says_which_setting(tmp_path):
    with pytest.raises(ConfigError, match=r"folders\.extract"):
        load(environ={f"{PREFIX}_SOURCE": "extract"})


def test_unknown_source_is_refused():
    with pytest.raises(ConfigError, match="source must be one of"):
        load(environ={f"{PREFIX}_SOURCE": "production"})
