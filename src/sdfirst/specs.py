"""The declarative specs in `synthetic/`: one source of truth for the generator, the data dictionary and the tests.

A dataset spec (`synthetic/datasets/<dataset>.yaml`) names the dataset's tables and, for every column, its type,
description and provenance: `confirmed` (the real release uses this name; a source is given) or `inferred`
(named by this project). The other files hold code lists, population and error parameters and calibration
targets. This module only reads and checks them; it knows nothing about how data are made.

Overrides (`generate(config=...)`, `synth --config FILE`) are partial spec files keyed by file name, deep-merged
over the specs as they are read (lists replaced whole) and checked by the same shapes. While they are in use every
reader sees them, and every cache of values made from the specs is emptied when they change, so that one run's
overrides never reach the next.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import difflib
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import yaml

from sdfirst import spec_schema
from sdfirst.exceptions import DataFirstError

if TYPE_CHECKING:
    import numpy as np

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "bool": pa.bool_(),
}
#: DuckDB's name for each spec type: delimited text is read back with the types it was written with.
DUCKDB_TYPES = {"string": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "date": "DATE", "bool": "BOOLEAN"}
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


def _read_yaml(path: Path, what: str) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_YAML_LOADER)  # a safe loader either way
    except OSError as exc:
        raise DataFirstError(f"cannot read {what} {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise DataFirstError(f"{what} {path} is not valid YAML{where}") from None


@dataclass(frozen=True)
class Overrides:
    """Partial spec files keyed by file name (`{"recording_errors.yaml": {"default": {"rows": {"omitted": 0.05}}}}`),
    with where they came from (the override file, or `config` for a mapping), which messages name."""

    source: str
    files: dict[str, Any]

    @property
    def digest(self) -> str:
        return digest(self.files)


_active: Overrides | None = None
_derived: list[Callable[[], None]] = []  # how to empty each cache of values made from the specs


def derived_cache(clear: Callable[[], None]) -> None:
    """Register how to empty a cache of values made from the specs, emptied whenever the overrides change."""
    _derived.append(clear)


def read_overrides(config: Mapping[str, Any] | str | Path | None) -> Overrides | None:
    """Overrides from a mapping or a YAML file, their file names checked (their keys are checked as each spec file
    is read, against the shipped file and its shape); None, or an empty mapping, is none."""
    if config is None or (isinstance(config, Mapping) and not config):
        return None
    if isinstance(config, Mapping):
        source, files = "config", config
    else:
        source, files = str(config), _read_yaml(Path(config), "override file")
        if not isinstance(files, Mapping) or not files:
            example = "recording_errors.yaml: {default: {rows: {omitted: 0.05}}}"
            raise DataFirstError(f"{source}: expected spec file names with the keys to change, such as {example!r}")
    known = spec_files()
    for name, change in files.items():
        if name not in known:
            near = difflib.get_close_matches(str(name), known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else f" (the files are {', '.join(known)})"
            raise DataFirstError(f"{source}: unknown spec file {name!r}{hint}")
        if not isinstance(change, Mapping):
            raise DataFirstError(f"{source}: {name}: expected a mapping of keys to change, got {change!r}")
    return Overrides(source, copy.deepcopy(dict(files)))


def use_overrides(overrides: Overrides | None) -> None:
    """Make every spec read from now on see `overrides` (None: the specs as shipped); a worker process of a run calls
    this with the run's, so that it needs nothing inherited from its parent."""
    global _active
    if overrides != _active:
        _active = overrides
        forget()


@contextlib.contextmanager
def overridden(overrides: Overrides | None) -> Iterator[None]:
    """`overrides` in use for the block, and the previous ones (usually none) again after it."""
    previous = _active
    use_overrides(overrides)
    try:
        yield
    finally:
        use_overrides(previous)


def forget() -> None:
    """Empty every cache of the specs and of values made from them (after the overrides or the files change)."""
    load_yaml.cache_clear()
    datasets.cache_clear()
    for clear in _derived:
        clear()


@functools.cache
def load_yaml(name: str) -> dict[str, Any]:
    """One spec file, parsed once per process and checked against its declared shape (spec_schema.yaml), with the
    overrides in use merged over it and the result checked again."""
    path = spec_dir() / name
    data = _read_yaml(path, "spec")
    spec_schema.check(name, data, path)
    change = _active.files.get(name) if _active else None
    if change is None:
        return data
    where = f"{_active.source}: {name}"
    merged = _merged(data, change, name, [], where)
    spec_schema.check(name, merged, where)
    return merged


def _merged(base: Any, change: Any, name: str, at: list[str], where: str) -> Any:
    """`change` deep-merged over `base`: mappings key by key, anything else (lists too) replaced whole. A key the
    shipped file does not have is refused unless its shape names it (see spec_schema.names_key)."""
    if not (isinstance(base, Mapping) and isinstance(change, Mapping)):
        return copy.deepcopy(change)
    out = dict(base)
    for key, value in change.items():
        path = [*at, str(key)]
        if key not in base and not spec_schema.names_key(name, path):
            known = spec_schema.named_keys(name, at) or [str(k) for k in base]
            raise spec_schema.unknown_key(".".join(at), key, known).prefixed(where)
        out[key] = _merged(base.get(key), value, name, path, where)
    return out


def digest(data: Any) -> str:
    """A SHA-256 of a spec's parsed content (key order kept: it sets the order of codes), so that the same values
    give the same digest however the file was written or merged."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_iso)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _iso(value: Any) -> str:
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"cannot hash a {type(value).__name__} in a spec")


def provenance() -> dict[str, Any]:
    """What the manifest records of the specs a run used: a digest of every spec file after the overrides, and the
    overrides themselves with their digest (null without), so that folders made with different values say so."""
    used = {name: digest(load_yaml(name)) for name in spec_files()}
    overrides = None
    if _active is not None:
        content = json.loads(json.dumps(_active.files, default=_iso))  # dates as text, as JSON holds them
        overrides = {"source": _active.source, "digest": _active.digest, "content": content}
    return {"files": used, "overrides": overrides}


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
    years: tuple[int | None, int | None] | None = None  # in the files of these years only (from, until)

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.type]

    def in_year(self, year: int | np.ndarray) -> bool | np.ndarray:
        """Whether the column is in the file of `year` of a table split by year (the NPD's `llsoa_spr` is in the
        census files to 2012, `lsoa11_spr` from 2013)."""
        first, last = self.years or (None, None)
        low = True if first is None else year >= first
        high = True if last is None else year <= last
        return low & high  # a year, or an array of years


@dataclass(frozen=True)
class TableSpec:
    dataset: str
    name: str
    description: str
    row: str
    columns: tuple[ColumnSpec, ...]
    provenance: str = "inferred"  # whether the real release has a table (or file) of this name
    source: str | None = None  # where a confirmed name is seen (or, for an inferred one, where such a table is)
    teaching: bool = False  # no real release has such a table: kept because a chapter needs it
    files: ReleaseFiles | None = None  # the release's own file names, where they are known
    truth_key: TruthKey | None = None  # a table without row keys: the column that names each row's true person

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns])

    @property
    def release_schema(self) -> pa.Schema:
        """The columns a release holds: all but the identifiers, which only MoJ's linking team sees."""
        return pa.schema([f for f, c in zip(self.schema, self.columns, strict=True) if not c.identifier])

    @property
    def release_types(self) -> dict[str, str]:
        """The release's columns and their DuckDB types."""
        return {c.name: DUCKDB_TYPES[c.type] for c in self.columns if not c.identifier}

    def file_columns(self, year: int | None = None) -> list[ColumnSpec]:
        """The columns of one of the release's files, in order: the release's columns, but in a table split by year
        not the year column (the year is in the file's name) nor a column the file of `year` lacks."""
        columns = [c for c in self.columns if not c.identifier]
        if self.files is None or self.files.by is None:
            return columns
        if year is None:
            raise DataFirstError(f"{self.key}: its files are split by year, so a file's columns need its year")
        return [c for c in columns if c.name != self.files.by and c.in_year(year)]

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
    fall_away: FallAway | None = None  # records thinning out before the end, as a new system takes over

    @property
    def complete_until(self) -> str:
        """The last day on which the dataset holds all its records: the day before any fall-away, else its end.
        A follow-up that runs past it undercounts what happened, as the records thin out."""
        if self.fall_away is None:
            return self.coverage[1]
        return (datetime.date.fromisoformat(self.fall_away.start) - datetime.timedelta(days=1)).isoformat()


@dataclass(frozen=True)
class FallAway:
    """From `start`, the share of a dataset's records kept falls in a straight line, from all of them to
    `kept_at_end` on the last day of its coverage (the Common Platform taking cases from LIBRA and XHIBIT)."""

    start: str
    kept_at_end: float


@dataclass(frozen=True)
class TruthKey:
    """How the truth finds a row's person in a table that has no row key, as the MoJ-DfE share's files have none:
    by the person id in `column`, of the kind `key` (`pupilmatchingrefanonymous` or `mojuid`), which
    `truth.key_person` maps to its true person."""

    column: str
    key: str


@dataclass(frozen=True)
class ReleaseFiles:
    """How the release names a table's files, where public code that read them shows it.

    `name` is a file name, with `{part:02d}` when the table is split into `parts` numbered files (probation's
    `moj_probation_flatfile_01` .. `_30`), or `{year}` when there is one file per value of the integer column `by`
    (the NPD's `Spring_Census_2013`). The year is then in the file's name only, not a column of the file (readers
    put it back), and a column with `years` is only in the files of those years; with `year_suffix` every column's
    name ends in the year's two digits, as in the real files (`gender_spr13`). `format` is how the rows are stored:
    Parquet, or delimited text with a header (the MoJ-DfE share). A table with no `files` is written as
    `<dataset>/<table>/part-NNNNN.parquet`.
    """

    name: str
    parts: int | None = None
    by: str | None = None
    format: str = "parquet"
    year_suffix: bool = False  # each column ends in the file's two-digit year, as the NPD's do
    source: str | None = None

    @property
    def glob(self) -> str:
        """The release's file names as a shell pattern (`moj_probation_flatfile_[0-9][0-9]`), for finding them."""
        return self.name.replace("{part:02d}", "[0-9][0-9]").replace("{year}", "[0-9][0-9][0-9][0-9]")

    def suffix(self, year: int) -> str:
        """What a column's name ends in, in the file of `year` (nothing unless `year_suffix`)."""
        return f"{year % 100:02d}" if self.year_suffix else ""


def year_of(name: str) -> int:
    """The year in the name of a file split by year (its last run of four digits)."""
    return int(re.findall(r"\d{4}", name)[-1])


def _release_files(raw: dict[str, Any] | None, where: str) -> ReleaseFiles | None:
    if raw is None:
        return None
    files = ReleaseFiles(**raw)
    if ("{part" in files.name) != (files.parts is not None) or ("{year}" in files.name) != (files.by is not None):
        raise DataFirstError(f"{where}: files.name needs {{part:02d}} exactly when parts is set, {{year}} when by is")
    if files.parts is not None and files.by is not None:
        raise DataFirstError(f"{where}: files are split by parts or by a column, not both")
    if files.year_suffix and files.by is None:
        raise DataFirstError(f"{where}: files.year_suffix needs files split by a year column (by)")
    return files


def _check_provenance(raw: dict[str, Any], where: str) -> None:
    """A column's or a table's name is confirmed, with where it is seen, or inferred."""
    if raw["provenance"] not in PROVENANCE:
        raise DataFirstError(f"{where}: provenance must be confirmed or inferred")
    if raw["provenance"] == "confirmed" and not raw.get("source"):
        raise DataFirstError(f"{where}: a confirmed name needs a source")


def _column(raw: dict[str, Any], where: str) -> ColumnSpec:
    """A column from its spec, whose keys and their types spec_schema.yaml has checked; here, what they mean."""
    if raw["type"] not in ARROW_TYPES:
        raise DataFirstError(f"{where}.{raw['name']}: unknown type {raw['type']!r}")
    _check_provenance(raw, f"{where}.{raw['name']}")
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
        years=(raw["years"].get("from"), raw["years"].get("until")) if "years" in raw else None,
    )


def table_spec(dataset: str, name: str, raw: dict[str, Any]) -> TableSpec:
    """A table from its spec (description, row, columns), as in synthetic/datasets/ and linkage.yaml's dictionary."""
    cols = tuple(_column(c, f"{dataset}.{name}") for c in raw["columns"])
    names = [c.name for c in cols]
    if len(set(names)) != len(names):
        raise DataFirstError(f"{dataset}.{name}: duplicate column names")
    _check_provenance(raw, f"{dataset}.{name}")
    files = _release_files(raw.get("files"), f"{dataset}.{name}")
    if files is not None and files.by is not None and files.by not in names:
        raise DataFirstError(f"{dataset}.{name}: files are split by {files.by}, which is not one of its columns")
    dated = [c.name for c in cols if c.years is not None]
    if dated and (files is None or files.by is None):
        raise DataFirstError(f"{dataset}.{name}: {dated[0]} has years, but the table's files are not split by year")
    truth_key = TruthKey(**raw["truth_key"]) if "truth_key" in raw else None
    if truth_key is not None and truth_key.column not in names:
        raise DataFirstError(f"{dataset}.{name}: its truth_key {truth_key.column} is not one of its columns")
    return TableSpec(
        dataset=dataset,
        name=name,
        description=" ".join(str(raw["description"]).split()),
        row=raw["row"],
        columns=cols,
        provenance=raw["provenance"],
        source=raw.get("source"),
        teaching=bool(raw.get("teaching", False)),
        files=files,
        truth_key=truth_key,
    )


def _dataset(raw: dict[str, Any]) -> DatasetSpec:
    name = raw["dataset"]
    tables = {tname: table_spec(name, tname, traw) for tname, traw in raw["tables"].items()}
    return DatasetSpec(
        name=name,
        title=raw["title"],
        source_system=raw["source_system"],
        coverage=(str(raw["coverage"]["start"]), str(raw["coverage"]["end"])),
        description=" ".join(str(raw["description"]).split()),
        tables=tables,
        always=bool(raw.get("always", False)),
        fall_away=_fall_away(raw["coverage"]),
    )


def _fall_away(coverage: dict[str, Any]) -> FallAway | None:
    raw = coverage.get("fall_away")
    if raw is None:
        return None
    if not str(coverage["start"]) < str(raw["start"]) < str(coverage["end"]):
        raise DataFirstError(f"coverage.fall_away.start {raw['start']} is not inside the coverage")
    return FallAway(start=str(raw["start"]), kept_at_end=float(raw["kept_at_end"]))


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


def provenance_line(record: Mapping[str, Any] | None) -> str:
    """One line on the specs a folder was made with, from its manifest's `specs` (None for a folder made before
    the manifest recorded them): a digest of all the spec files' digests, and each value the overrides set."""
    if record is None:
        return "Specs: not recorded (a folder made before the manifest recorded them)."
    line = f"Specs: digest {digest(record['files'])[:16]} of {len(record['files'])} files"
    overrides = record["overrides"]
    if overrides is None:
        return f"{line}, no overrides."
    content = overrides["content"]
    changed = [f"{name} {path}={value!r}" for name, change in content.items() for path, value in _leaves(change, "")]
    return f"{line}, overridden by {overrides['source']} (digest {overrides['digest'][:16]}): {'; '.join(changed)}."


def _leaves(data: Any, at: str) -> Iterator[tuple[str, Any]]:
    if not isinstance(data, Mapping):
        yield at, data
        return
    for key, value in data.items():
        yield from _leaves(value, f"{at}.{key}" if at else str(key))


def spec_files() -> list[str]:
    """The spec files: those spec_schema.yaml declares by name (read whether present or not, so that one missing
    is an error) and those present that a pattern of it matches (a stray file of the user's own is left alone)."""
    folder = spec_dir()
    present = [path.relative_to(folder).as_posix() for path in sorted(folder.rglob("*.yaml"))]
    declared = [name for name in spec_schema.declared_files() if "*" not in name]
    return list(dict.fromkeys(declared + [n for n in present if spec_schema.shape_of(n) is not None]))


def check_specs() -> None:
    """Read (and so check) every spec file now, with the overrides in use, so that a mistake in an edited copy or
    an override stops a command before its work rather than in the middle of it."""
    for name in spec_files():
        load_yaml(name)
    datasets()


def table(key: str) -> TableSpec:
    """A table spec by `dataset.table`."""
    dataset, name = key.split(".", 1)
    return datasets()[dataset].tables[name]


def code_lists() -> dict[str, Any]:
    return load_yaml("code_lists.yaml")
