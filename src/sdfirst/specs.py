"""The declarative specs in `synthetic/`: one source of truth for the generator, the data dictionary and the tests.

A dataset spec (`synthetic/datasets/<dataset>.yaml`) names the dataset's tables and, for every column, its type,
description and provenance: `confirmed` (the real release uses this name; a source is given) or `inferred`
(named by this project). The other files hold code lists, population and error parameters and calibration
targets. This module only reads and checks them; it knows nothing about how data are made.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from sdfirst import spec_schema
from sdfirst.exceptions import DataFirstError

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "bool": pa.bool_(),
}
PROVENANCE = {"confirmed", "inferred"}
#: libyaml's safe loader when PyYAML was built with it (ten times faster), else the pure-Python one: same results.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def spec_dir() -> Path:
    """Where the specs live: `$SDFIRST_SPECS`, else `synthetic/` at the top of the source tree, else the copy
    shipped inside an installed wheel (`sdfirst/_synthetic`), so that a project in a secure environment that
    installs the package from a wheel needs no clone of this repository."""
    env = os.environ.get("SDFIRST_SPECS")
    here = Path(__file__).resolve().parent
    candidates = [Path(env)] if env else [here.parents[1] / "synthetic", here / "_synthetic"]
    for path in candidates:
        if (path / "code_lists.yaml").is_file():
            return path
    raise DataFirstError(f"cannot find the synthetic specs in {candidates[0]} (set SDFIRST_SPECS)")


@functools.cache
def load_yaml(name: str) -> dict[str, Any]:
    """One spec file, parsed once per process and checked against its declared shape (spec_schema.yaml)."""
    path = spec_dir() / name
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_YAML_LOADER)  # a safe loader either way
    except OSError as exc:
        raise DataFirstError(f"cannot read spec {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise DataFirstError(f"spec {path} is not valid YAML{where}") from None
    spec_schema.check(name, data, path)
    return data


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    description: str
    provenance: str
    nullable: bool = True
    identifier: bool = False
    source: str | None = None
    codes: tuple[str, ...] | None = None

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.type]


@dataclass(frozen=True)
class TableSpec:
    dataset: str
    name: str
    description: str
    row: str
    columns: tuple[ColumnSpec, ...]

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def key(self) -> str:
        return f"{self.dataset}.{self.name}"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    source_system: str
    coverage: tuple[str, str]
    description: str
    tables: dict[str, TableSpec] = field(default_factory=dict)
    always: bool = False  # written whatever --datasets says (the truth)


def _column(raw: dict[str, Any], where: str) -> ColumnSpec:
    """A column from its spec, whose keys and their types spec_schema.yaml has checked; here, what they mean."""
    if raw["type"] not in ARROW_TYPES:
        raise DataFirstError(f"{where}.{raw['name']}: unknown type {raw['type']!r}")
    if raw["provenance"] not in PROVENANCE:
        raise DataFirstError(f"{where}.{raw['name']}: provenance must be confirmed or inferred")
    if raw["provenance"] == "confirmed" and not raw.get("source"):
        raise DataFirstError(f"{where}.{raw['name']}: a confirmed name needs a source")
    codes = raw.get("codes")
    return ColumnSpec(
        name=raw["name"],
        type=raw["type"],
        description=" ".join(str(raw["description"]).split()),
        provenance=raw["provenance"],
        nullable=bool(raw.get("nullable", True)),
        identifier=bool(raw.get("identifier", False)),
        source=raw.get("source"),
        codes=tuple(str(c) for c in codes) if codes else None,
    )


def _dataset(raw: dict[str, Any]) -> DatasetSpec:
    name = raw["dataset"]
    tables = {}
    for tname, traw in raw["tables"].items():
        cols = tuple(_column(c, f"{name}.{tname}") for c in traw["columns"])
        names = [c.name for c in cols]
        if len(set(names)) != len(names):
            raise DataFirstError(f"{name}.{tname}: duplicate column names")
        tables[tname] = TableSpec(
            dataset=name,
            name=tname,
            description=" ".join(str(traw["description"]).split()),
            row=traw["row"],
            columns=cols,
        )
    return DatasetSpec(
        name=name,
        title=raw["title"],
        source_system=raw["source_system"],
        coverage=(str(raw["coverage"]["start"]), str(raw["coverage"]["end"])),
        description=" ".join(str(raw["description"]).split()),
        tables=tables,
        always=bool(raw.get("always", False)),
    )


@functools.cache
def datasets() -> dict[str, DatasetSpec]:
    """Every dataset spec, in the order the generator writes them (the order of `datasets.order`)."""
    folder = spec_dir() / "datasets"
    order = load_yaml("datasets/order.yaml")["order"]
    found = {p.stem for p in folder.glob("*.yaml")} - {"order"}
    if set(order) != found:
        raise DataFirstError(f"synthetic/datasets/order.yaml lists {sorted(order)} but files are {sorted(found)}")
    return {name: _dataset(load_yaml(f"datasets/{name}.yaml")) for name in order}


def named_datasets(names: str | list[str] | tuple[str, ...] | None, known: list[str]) -> list[str]:
    """The datasets `names` asks for, in the order of `known`.

    `names` is "all" or None (all of `known`), a comma-separated string or a list; a name not in `known` is an
    error that lists the choices.
    """
    if names is None or names == "all":
        return list(known)
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not names:
        raise DataFirstError(f"no datasets named; choose from {', '.join(known)} (or all)")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DataFirstError(f"unknown dataset {unknown[0]!r}; choose from {', '.join(known)}")
    return [n for n in known if n in set(names)]


def check_specs() -> None:
    """Read (and so check) every spec file now, so that a mistake in an edited copy stops a command before its work
    rather than in the middle of it. The files are those spec_schema.yaml declares: one missing is an error, a
    stray file of the user's own is left alone."""
    folder = spec_dir()
    present = [path.relative_to(folder).as_posix() for path in sorted(folder.rglob("*.yaml"))]
    declared = [name for name in spec_schema.declared_files() if "*" not in name]
    for name in dict.fromkeys(declared + [n for n in present if spec_schema.shape_of(n) is not None]):
        load_yaml(name)
    datasets()


def table(key: str) -> TableSpec:
    """A table spec by `dataset.table`."""
    dataset, name = key.split(".", 1)
    return datasets()[dataset].tables[name]


def code_lists() -> dict[str, Any]:
    return load_yaml("code_lists.yaml")
