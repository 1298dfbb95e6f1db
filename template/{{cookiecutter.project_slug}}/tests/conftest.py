"""Tests run on synthetic data only: the folder configured for `synthetic`, or a small copy made for the session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }}.config import PREFIX, Config, load

PEOPLE = 2000  # small: the tests check that the code runs and agrees with itself, not the numbers


@pytest.fixture(scope="session")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The synthetic configuration; makes a small synthetic folder when `make data` has not been run."""
    base = load(source="synthetic")
    if (base.folder / "manifest.json").is_file():
        return base
    from sdfirst.synth import generate

    folder = tmp_path_factory.mktemp("synthetic") / "data"
    generate(folder, people=PEOPLE, seed=base.seed, datasets=list(base.datasets))
    os.environ[f"{PREFIX}_SYNTHETIC"] = str(folder)
    return load(source="synthetic")


@pytest.fixture()
def con(config: Config):
    from {{ cookiecutter.project_slug }}.data import connect

    connection = connect(config)
    yield connection
    connection.close()


@pytest.fixture()
def project_root() -> Path:
    return Path(__file__).resolve().parents[1]
