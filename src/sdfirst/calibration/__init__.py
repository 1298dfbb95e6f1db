"""Calibration: the published figures in `synthetic/calibration.yaml` set beside the same figures computed
from a generated folder.

A metric is a function of a DuckDB connection (`sdfirst.connect`) registered with :func:`metric` under the name
the YAML gives. Adding a figure is therefore one entry in `calibration.yaml` and one registered function, in any
module of this package (`courts.py` for the courts, `education.py` for the MoJ-DfE share: every module is
imported, none is listed); the report (`sdfirst synth --report`) and the slow calibration test read the YAML and
pick the figure up with no further change. A metric returns a plain number, whose standard error then comes from
random groups of the folder's people (`replicates.py`), or a :class:`Share` (a percentage of people with how many
people it is of), whose standard error is binomial (`noise.py`), or a figure that carries the standard error its
metric computed: a :class:`Clustered` ratio over clusters of records that random groups of people would split (the
defendants of one case), or a :class:`Modal` most common value, whose error random groups overstate.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import textwrap
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import duckdb

from sdfirst.database import connect, read_manifest
from sdfirst.exceptions import DataFirstError
from sdfirst.specs import load_yaml, provenance_line

if TYPE_CHECKING:
    from sdfirst.calibration.replicates import Estimate


class Share(float):
    """A figure that is a percentage of people, each counted once: the percentage (a float, so that callers may use
    it as the number it is), with how many people it is of (``people``).

    A metric that returns one gives the report a binomial standard error, which needs no recomputation on groups
    of people and is exact enough for a share of people drawn independently."""

    people: int

    def __new__(cls, percent: float | None, people: int) -> Share:
        share = super().__new__(cls, math.nan if percent is None else percent)
        share.people = int(people)
        return share


class Estimated(float):
    """A figure with the standard error its metric computed (``standard_error``) and how (``method``, the report's
    word): for figures whose error random groups of people cannot give."""

    standard_error: float
    method: ClassVar[str]

    def __new__(cls, value: float | None, standard_error: float) -> Estimated:
        figure = super().__new__(cls, math.nan if value is None else value)
        figure.standard_error = float(standard_error)
        return figure


class Clustered(Estimated):
    """A figure that is a ratio of totals over clusters of records (Crown Court cases, whose defendants share the
    case's flag), with its standard error over the clusters (:func:`noise.ratio_error`).

    Random groups of people cannot give this error: a group holds only some of a case's defendants, so a case with
    co-defendants is no longer one in the group and the group's figure is not the figure of a smaller folder."""

    method = "clusters"


class Modal(Estimated):
    """A most common value (an age in whole years), with its bootstrap standard error (:func:`noise.mode_error`).

    Random groups overstate this error: the random groups method takes a group's figure to vary as an average's
    does, ten times as much for a tenth of the people, but a group's most common age, from a few dozen people,
    wanders far more than that, so the error they give is not the folder's."""

    method = "bootstrap"


Metric = Callable[[duckdb.DuckDBPyConnection], float]  # a Share, for a percentage of people
METRICS: dict[str, Metric] = {}


def metric(name: str) -> Callable[[Metric], Metric]:
    """Register a metric under the name calibration.yaml uses (a name registered twice is a mistake: refused)."""

    def register(func: Metric) -> Metric:
        known = METRICS.get(name)
        if known is not None and _where(known) != _where(func):  # the same function again (a reload) is fine
            raise DataFirstError(f"calibration metric {name!r} is registered twice: {_where(known)}, {_where(func)}")
        METRICS[name] = func
        return func

    return register


def _where(func: Metric) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def _load_metrics() -> None:
    """Import every module of the package, so that each registers its metrics (a new module needs no listing)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


@dataclass(frozen=True)
class Result:
    """One figure: published, as computed on the folder (NaN when the folder lacks its dataset, ``available``
    False, or when no one is in the group it is about), and how many people it is a share of (None when it is not
    a share of people)."""

    id: str
    figure: str
    published: float
    synthetic: float
    tolerance: float
    source: str
    people: int | None = None
    available: bool = True
    own_error: float | None = None  # the standard error an Estimated metric computed itself
    own_method: str | None = None  # and how (Estimated.method)

    @property
    def within(self) -> bool:
        return not math.isnan(self.synthetic) and abs(self.synthetic - self.published) <= self.tolerance


def targets() -> list[dict]:
    """The figures of calibration.yaml (with the overrides in use)."""
    return load_yaml("calibration.yaml")["targets"]


def evaluate(folder: str | Path) -> list[Result]:
    """Every calibration target computed on a generated folder."""
    return evaluate_connection(connect(folder))


def _value(func: Metric, con: duckdb.DuckDBPyConnection) -> tuple[float, int | None, bool, Estimated | None]:
    """A metric's value, the people it is a share of (or None), whether the folder has the data for it, and the
    value again if it carries its own standard error (or None)."""
    try:
        value = func(con)
    except duckdb.CatalogException:
        return math.nan, None, False, None  # a dataset the run did not write
    people = value.people if isinstance(value, Share) else None
    own = value if isinstance(value, Estimated) else None
    return (math.nan if value is None else float(value)), people, True, own


def evaluate_connection(con: duckdb.DuckDBPyConnection, only: Collection[str] | None = None) -> list[Result]:
    """Every calibration target (or those whose ids are in `only`) computed on a connection laid out as
    :func:`sdfirst.connect` lays out a folder."""
    _load_metrics()
    out = []
    for target in targets():
        if only is not None and target["id"] not in only:
            continue
        func = METRICS.get(target["metric"])
        if func is None:
            raise DataFirstError(f"calibration target {target['id']} names unknown metric {target['metric']!r}")
        value, people, available, own = _value(func, con)
        out.append(
            Result(
                target["id"],
                target["figure"],
                float(target["published"]),
                value,
                float(target["tolerance"]),
                target["source"],
                people,
                available,
                None if own is None else own.standard_error,
                None if own is None else own.method,
            )
        )
    return out


def verdict(estimate: Estimate, multiple: float) -> str:
    """The report's word for a figure: ``n/a`` (the folder lacks its data), ``too noisy`` (no one in its group,
    or ``multiple`` standard errors exceed the tolerance), else ``yes`` or ``NO`` (within tolerance or not)."""
    result = estimate.result
    if not result.available:
        return "n/a"
    if math.isnan(result.synthetic) or estimate.too_noisy(multiple):  # NaN: no one in the group it is about
        return "too noisy"
    return "yes" if result.within else "NO"


def _times(multiple: float) -> str:
    words = {1: "the standard error", 2: "twice the standard error"}
    return words.get(multiple, f"{multiple:g} times the standard error")


def report(folder: str | Path, found: list[Estimate] | None = None) -> str:
    """A plain-text table of published against synthetic figures, each with its standard error at the folder's
    size, marking those too noisy to judge (``found``: the folder's :func:`noise.standard_errors`, if known)."""
    from sdfirst.calibration import noise

    manifest = read_manifest(folder)
    found = noise.standard_errors(folder) if found is None else found
    multiple = noise.too_noisy_multiple()
    width = max(len(e.result.figure) for e in found)
    head = f"{'figure':<{width}}  published  synthetic  std error  by       tolerance  within"
    lines = [head, "-" * len(head)]
    for e in found:
        r = e.result
        lines.append(
            f"{r.figure:<{width}}  {r.published:>9.4g}  {r.synthetic:>9.4g}  {e.standard_error:>9.2g}  "
            f"{e.method_short:<7}  {r.tolerance:>9.3g}  {verdict(e, multiple)}"
        )
    ok = sum(e.within for e in found)
    lines.append(f"{ok} of {len(found)} figures within tolerance.")
    noisy = [e.result.id for e in found if verdict(e, multiple) == "too noisy"]
    people = manifest["people"]
    if noisy:
        text = (
            f"{len(noisy)} too noisy to judge at {people:,} people ({_times(multiple)} exceeds the tolerance, so a "
            f"miss may be chance and a hit says little): {', '.join(noisy)}."
        )
        lines.extend(textwrap.wrap(text, 115))
    lines.extend(textwrap.wrap(noise.method_line(found), 115))
    checked = int(load_yaml("calibration.yaml")["checked_at_people"])
    if people < checked:
        lines.append(f"The tolerances are set for {checked:,} people; this folder has {people:,}.")
    lines.append("Every record is synthetic.")
    lines.append(provenance_line(manifest.get("specs")))
    return "\n".join(lines)
