"""Helpers for the book's notebooks: find the generated data whatever the notebook's working directory.

The book lives in ``book/`` and its configuration, ``_config.yml``, at the repository root. ``make data`` (or
``make book``) writes the default synthetic data to ``data/synthetic`` under that root.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sdfirst.exceptions import DataFirstError

__all__ = ["DEFAULT_DATA", "data_folder", "linkage_evaluation", "linked_folder", "repository_root"]

#: Where ``make data`` writes the default synthetic data, relative to the repository root.
DEFAULT_DATA = Path("data") / "synthetic"
_MARKER = "_config.yml"


def repository_root(start: str | Path | None = None) -> Path:
    """The nearest folder, from ``start`` (default: the working directory) upwards, that holds ``_config.yml``."""
    here = Path.cwd() if start is None else Path(start)
    here = here.resolve()
    for folder in (here, *here.parents):
        if (folder / _MARKER).is_file():
            return folder
    raise DataFirstError(
        f"cannot find the repository root: no {_MARKER} in {here} or any folder above it. "
        "Run the notebooks from inside a clone of this repository."
    )


def data_folder(start: str | Path | None = None) -> Path:
    """``<root>/data/synthetic``, the default synthetic data, checked to exist.

    Raises :class:`~sdfirst.exceptions.DataFirstError` telling the reader to run ``make data`` if the folder
    has not been generated yet.
    """
    folder = repository_root(start) / DEFAULT_DATA
    if not (folder / "manifest.json").is_file():
        raise DataFirstError(
            f"no synthetic data in {folder}: run `make data` at the repository root first "
            "(it generates 100,000 people, seed 42)."
        )
    return folder


def _evaluation_path(folder: Path) -> Path:
    """Where ``sdfirst link`` writes its evaluation in a generated folder (named in synthetic/linkage.yaml)."""
    from sdfirst.linkage.config import load_config  # here: importing the linkage package loads Splink

    output = load_config()["output"]
    return folder / output["folder"] / output["evaluation"]


def linked_folder(start: str | Path | None = None) -> Path:
    """``<root>/data/synthetic``, checked to hold the linkage output (``linking/``) as well as the data.

    ``make data`` runs ``sdfirst link`` once, before the book is built. Chapters read that output rather than
    re-linking, because the book's notebooks run in parallel and must never replace a folder another one reads.
    """
    folder = data_folder(start)
    evaluation = _evaluation_path(folder)
    if not evaluation.is_file():
        raise DataFirstError(
            f"no linkage output in {evaluation.parent}: run `make data` (or `sdfirst link {folder}`) first."
        )
    return folder


def linkage_evaluation(start: str | Path | None = None) -> dict[str, Any]:
    """The evaluation that ``sdfirst link`` wrote beside its output (``linking/evaluation.json``)."""
    return json.loads(_evaluation_path(linked_folder(start)).read_text(encoding="utf-8"))
