"""Jinja helpers for this template: what the baked files need to know from the sdfirst specs.

The dataset descriptions, tables and variables in the baked project (the data request, the acro example, the
Makefile) come from the specs in the installed `sdfirst` package at bake time, so they never drift from them.
`sdfirst` is imported only when a helper is used: the pre-generation hook explains its absence in one line first.
"""

from __future__ import annotations

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


def _coded(table: Any) -> list[str]:
    return [c.name for c in table.columns if c.codes and not c.identifier]


def _numeric(table: Any) -> list[str]:
    return [c.name for c in table.columns if c.type in ("int", "float") and not c.identifier and "seq" not in c.name]


def acro_example(names: list[str]) -> dict[str, str]:
    """Columns for the output-checking example, from the first chosen dataset that has them.

    A crosstab needs two coded columns of one table; a model needs a number to explain and a coded column in one table.
    """
    from sdfirst.specs import datasets

    specs = datasets()
    for name in names:
        tables = list(specs[name].tables.values())
        cross = next((t for t in tables if len(_coded(t)) >= 2), None)
        model = next((t for t in tables if _coded(t) and _numeric(t)), None)
        if cross and model:
            return {
                "crosstab_table": cross.key,
                "rows": _coded(cross)[0],
                "columns": _coded(cross)[1],
                "model_table": model.key,
                "outcome": _numeric(model)[0],
                "predictor": _coded(model)[0],
            }
    raise ValueError(f"no table of {names} has the columns the acro example needs")


def sdfirst_version() -> str:
    from sdfirst import __version__

    return __version__


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
            person_names=person_names,
        )
