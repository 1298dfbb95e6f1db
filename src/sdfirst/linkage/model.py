"""The Splink model: settings built from linkage.yaml, and its training (seeded, so that runs repeat exactly)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on

from sdfirst.exceptions import DataFirstError


def _rule(rule: list[str] | str):
    """A blocking rule: a list of columns (or column expressions) that must be equal, or a SQL condition."""
    return rule if isinstance(rule, str) else block_on(*rule)


def _columns_reversed(spec: dict[str, Any]):
    """A comparison with one level for two columns swapped (e.g. forename and surname), beside null and else."""
    first, second = spec["columns"]
    return cl.CustomComparison(
        comparison_levels=[
            cll.Or(cll.NullLevel(first), cll.NullLevel(second)),
            cll.ColumnsReversedLevel(first, second, symmetrical=True),
            cll.ElseLevel(),
        ],
        output_column_name=spec["output_column_name"],
    )


def level(spec: dict[str, Any]):
    """One comparison level from its spec: `type` (a splink.comparison_level_library class), `column` (or
    `columns`), `levels` (the levels that And, Or or Not combine), `term_frequency_adjustments` (on the level's
    column, or the column it names), `label` (for Splink's charts) and the class's own arguments.

    So that a comparison whose levels no library class offers (e.g. a date of birth with its day and month
    swapped) is written in linkage.yaml, not in Python.
    """
    spec = dict(spec)
    kind = spec.pop("type")
    creator = getattr(cll, kind, None)
    if creator is None:
        raise DataFirstError(f"linkage.yaml: unknown comparison level type {kind!r}")
    tf = spec.pop("term_frequency_adjustments", False)
    label = spec.pop("label", None)
    if "levels" in spec:
        args = [level(inner) for inner in spec.pop("levels")]
    else:
        args = [spec.pop("column")] if "column" in spec else list(spec.pop("columns", []))
    made = creator(*args, **spec)
    options: dict[str, Any] = {}
    if tf:
        options["tf_adjustment_column"] = args[0] if tf is True else tf
    if label:
        options["label_for_charts"] = label
    return made.configure(**options) if options else made


def _custom(spec: dict[str, Any]):
    """A comparison of levels written out in linkage.yaml (`levels`, first to last), named `output_column_name`."""
    return cl.CustomComparison(
        comparison_levels=[level(item) for item in spec["levels"]],
        output_column_name=spec["output_column_name"],
        comparison_description=spec.get("description"),
    )


def comparison(spec: dict[str, Any]):
    """One comparison from its spec: `type` (a splink.comparison_library class), `column` (or `columns`, for a
    class that compares several, such as ForenameSurnameComparison), and its arguments."""
    spec = dict(spec)
    if spec["type"] == "ColumnsReversed":
        return _columns_reversed(spec)
    if spec["type"] == "Custom":
        return _custom(spec)
    kind = spec.pop("type")
    columns = [spec.pop("column")] if "column" in spec else list(spec.pop("columns", []))
    tf = spec.pop("term_frequency_adjustments", False)
    creator = getattr(cl, kind, None)
    if creator is None:
        raise DataFirstError(f"linkage.yaml: unknown comparison type {kind!r}")
    if not columns:
        raise DataFirstError(f"linkage.yaml: comparison {kind} names no column (`column` or `columns`)")
    made = creator(*columns, **spec)
    return made.configure(term_frequency_adjustments=True) if tf else made


def settings(cfg: dict[str, Any]) -> SettingsCreator:
    """Splink settings for the person model."""
    model = cfg["model"]
    return SettingsCreator(
        link_type=model["link_type"],
        unique_id_column_name="unique_id",
        comparisons=[comparison(c) for c in model["comparisons"]],
        blocking_rules_to_generate_predictions=[_rule(r) for r in model["blocking_rules_to_generate_predictions"]],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


@contextmanager
def single_threaded(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB at one thread inside the block, and at its former setting after it."""
    (previous,) = con.execute("SELECT current_setting('threads')").fetchone()
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(previous)}")


def train(linker: Linker, cfg: dict[str, Any]) -> None:
    """Prior, u by random sampling (seeded: Splink picks records by a hash of id and seed) and m by EM.

    EM runs DuckDB at one thread. Each EM step sums match probabilities (DOUBLE) by comparison level, and a
    parallel SUM adds them in an order that depends on the thread count, so the m probabilities (and so every
    match weight and probability) differed in their last digits between one thread and two, and between two runs
    at two. Splink 5 offers no ordered or exact sum, so one thread is the only way to a model that is the same on
    every machine. The prior and u are counts of pairs (exact at any thread count), and prediction and clustering
    work pair by pair or on ids, so they keep every thread.
    """
    training = cfg["training"]
    linker.training.estimate_probability_two_random_records_match(
        [_rule(r) for r in training["deterministic_matching_rules"]], recall=training["deterministic_recall"]
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=training["u_max_pairs"], seed=training["seed"])
    # Splink 5 has no public accessor for a linker's connection (DuckDBAPI.duckdb_con itself is public)
    with single_threaded(linker._db_api.duckdb_con):
        for rule in training["em_blocking_rules"]:
            linker.training.estimate_parameters_using_expectation_maximisation(
                _rule(rule), max_pairs=training["em_max_pairs"]
            )
