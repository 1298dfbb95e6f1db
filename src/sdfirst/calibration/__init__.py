"""Calibration: the published figures in `synthetic/calibration.yaml` set beside the same figures computed
from a generated folder. A metric is a function of a DuckDB connection (`sdfirst.connect`) that returns one
number; it is registered under the name the YAML gives, so a new target needs YAML and one small function.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sdfirst.database import connect, read_manifest
from sdfirst.exceptions import DataFirstError
from sdfirst.specs import load_yaml, provenance_line

Metric = Callable[[duckdb.DuckDBPyConnection], float]
METRICS: dict[str, Metric] = {}
_MODULES = ("courts", "education")


def metric(name: str) -> Callable[[Metric], Metric]:
    """Register a metric under the name calibration.yaml uses."""

    def register(func: Metric) -> Metric:
        METRICS[name] = func
        return func

    return register


def _load_metrics() -> None:
    for module in _MODULES:
        try:
            mod = importlib.import_module(f"sdfirst.calibration.{module}")
        except ModuleNotFoundError:
            continue
        METRICS.update(getattr(mod, "METRICS", {}))


@dataclass(frozen=True)
class Result:
    id: str
    figure: str
    published: float
    synthetic: float
    tolerance: float
    source: str

    @property
    def within(self) -> bool:
        return not math.isnan(self.synthetic) and abs(self.synthetic - self.published) <= self.tolerance


def evaluate(folder: str | Path) -> list[Result]:
    """Every calibration target computed on a generated folder."""
    return evaluate_connection(connect(folder))


def evaluate_connection(con: duckdb.DuckDBPyConnection) -> list[Result]:
    """Every calibration target computed on a connection laid out as :func:`sdfirst.connect` lays out a folder."""
    _load_metrics()
    out = []
    for target in load_yaml("calibration.yaml")["targets"]:
        func = METRICS.get(target["metric"])
        if func is None:
            raise DataFirstError(f"calibration target {target['id']} names unknown metric {target['metric']!r}")
        try:
            value = float(func(con))
        except duckdb.CatalogException:
            value = math.nan  # a dataset the run did not write
        out.append(
            Result(
                target["id"],
                target["figure"],
                float(target["published"]),
                value,
                float(target["tolerance"]),
                target["source"],
            )
        )
    return out


def report(folder: str | Path) -> str:
    """A plain-text table of published against synthetic figures."""
    results = evaluate(folder)
    width = max(len(r.figure) for r in results)
    lines = [f"{'figure':<{width}}  published  synthetic  tolerance  ok", "-" * (width + 40)]
    for r in results:
        mark = "yes" if r.within else ("n/a" if math.isnan(r.synthetic) else "NO")
        lines.append(f"{r.figure:<{width}}  {r.published:>9.4g}  {r.synthetic:>9.4g}  {r.tolerance:>9.3g}  {mark}")
    ok = sum(r.within for r in results)
    lines.append(f"{ok} of {len(results)} figures within tolerance. Every record is synthetic.")
    manifest = read_manifest(folder)
    lines.append(provenance_line(manifest.get("specs")))
    people = manifest["people"]
    checked = int(load_yaml("calibration.yaml")["checked_at_people"])
    if people < checked:
        lines.append(
            f"This folder has {people:,} people; the targets are checked at {checked:,}. Figures about small "
            "groups (such as the MoJ-DfE cohort's serious violence offenders) are noisy at this size."
        )
    return "\n".join(lines)
