"""Jinja helpers for this template: what the baked files need to know from the sdfirst specs.

The dataset descriptions, tables and variables in the baked project (the data request, the acro example, the
Makefile) come from the specs in the installed `sdfirst` package at bake time, so they never drift from them.
`sdfirst` is imported only when a helper is used: the pre-generation hook explains its absence in one line first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2.ext import Extension


def chosen_datasets(text: str) -> list[str]:
    """The datasets named in the answer, in the specs' order (the hook has already refused unknown names)."""
    from sdfirst.schema_check import choose_datasets

    return choose_datasets(text)


def dataset_info(name: str) -> dict[str, Any]:
    """One dataset's spec as plain values for templates: title, coverage, tables and their columns."""
    from sdfirst.dictionary import table_cell
    from sdfirst.specs import datasets

    spec = datasets()[name]
    return {
        "name": spec.name,
        "title": spec.title,
        "source_system": spec.source_system,
        "coverage": f"{spec.coverage[0][:4]}-{spec.coverage[1][:4]}",
        "description": spec.description,
        "tables": [
            {
                "name": t.name,
                "description": t.description,
                "row": t.row,
                "columns": [
                    {
                        "name": c.name,
                        "type": c.type,
                        "description": table_cell(c.description),  # it goes in a Markdown table
                        "provenance": c.provenance,
                        "identifier": c.identifier,
                    }
                    for c in t.columns
                ],
            }
            for t in spec.tables.values()
        ],
    }


def release_layout(text: str) -> list[dict[str, Any]]:
    """Each table of the chosen datasets with its files as the release names them: a glob of file names inside its
    dataset's folder (None where the names are not known), the format, for a table of one file a year the column its
    year fills and the years of the columns only some years' files have, and for delimited text each column's DuckDB
    type (text has none of its own). Baked into the project's `layout.py`, so that its data code needs no sdfirst."""
    from sdfirst.specs import datasets

    out = []
    for name in chosen_datasets(text):
        for t in datasets()[name].tables.values():
            glob = t.files.glob if t.files else None
            fmt = t.files.format if t.files else "parquet"
            suffix = bool(t.files and t.files.year_suffix)
            types = t.release_types if fmt == "csv" else {}
            by = t.files.by if t.files else None
            years = {c.name: list(c.years) for c in t.columns if c.years is not None}
            out.append(
                {"key": t.key, "glob": glob, "format": fmt, "year_suffix": suffix, "by": by, "years": years, "types": types}
            )
    return out


def _coded(table: Any) -> list[str]:
    """Columns that sort records into a few groups: a code list, or a yes/no."""
    return [c.name for c in table.columns if (c.codes or c.type == "bool") and not c.identifier]


def _numeric(table: Any) -> list[str]:
    return [c.name for c in table.columns if c.type in ("int", "float") and not c.identifier and "seq" not in c.name]


def acro_example(names: list[str]) -> dict[str, Any]:
    """The starter analysis: a table of people and a model, from the first chosen dataset that can give them.

    A count must count people, not records (one person can hold many records). So the example takes the person
    records of a table the cross-justice linkage covers (linkage.yaml `sources`), gives each the person id of the
    linking table (linking.xjs_link), and keeps each person's first record. The table crosses a coded column with
    sex; the model explains a number of that table (or, with none, being of the first sex) by the same coded column.
    """
    from sdfirst.journeys.timeline import ESTIMATED
    from sdfirst.linkage.config import load_config
    from sdfirst.specs import table

    cfg = load_config()
    for name in names:
        for source in (s for s in cfg["sources"] if s["dataset"] == name):
            spec = table(f"{name}.{source['table']}")
            sex = source["columns"]["sex"]
            where = source.get("where") or ""  # a column the source is filtered on has one value left: not a group
            coded = [c for c in _coded(spec) if c != sex and not re.search(rf"\b{re.escape(c)}\b", where)]
            if not (sex and coded):
                continue
            dates = [c.name for c in spec.columns if c.type == "date" and not c.identifier]
            numbers = _numeric(spec)
            sex_codes = next(c.codes for c in spec.columns if c.name == sex)
            return {
                "table": spec.key,
                "source_dataset": source["source_dataset"],
                "record_id": source["columns"]["unique_id"],
                "linking_table": f"{cfg['output']['folder']}.{Path(cfg['output']['xjs_link']).stem}",
                "person_id": ESTIMATED,
                "first_by": dates[0] if dates else None,
                "rows": coded[0],
                "columns": sex,
                "outcome": numbers[0] if numbers else sex,
                "outcome_level": None if numbers else sex_codes[0],
            }
    raise ValueError(f"no table of {names} has the person records the starter analysis needs")


def linking_folder() -> str:
    """The folder of the linkage output in a data folder (linking/), as `sdfirst link` writes it."""
    from sdfirst.linkage.config import load_config

    return load_config()["output"]["folder"]


def sdfirst_version() -> str:
    from sdfirst import __version__

    return __version__


def sdfirst_wheel() -> str:
    """The file name of sdfirst's wheel, which the post-generation hook writes into wheels/."""
    from sdfirst.newproject import wheel_filename

    return wheel_filename()


def person_names(full: str) -> dict[str, str]:
    """Given and family names for CITATION.cff: the last word is taken as the family name."""
    parts = full.split()
    if len(parts) < 2:
        return {"given": "", "family": full.strip()}
    return {"given": " ".join(parts[:-1]), "family": parts[-1]}


class DataFirstExtension(Extension):
    """Registers the helpers above as Jinja globals."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.globals.update(
            chosen_datasets=chosen_datasets,
            dataset_info=dataset_info,
            acro_example=acro_example,
            sdfirst_version=sdfirst_version,
            sdfirst_wheel=sdfirst_wheel,
            linking_folder=linking_folder,
            person_names=person_names,
            release_layout=release_layout,
        )
