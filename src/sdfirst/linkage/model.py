"""The Splink model: settings built from linkage.yaml, and its training (seeded, so that runs repeat exactly).

The settings are made from linkage.yaml for whichever backend runs them (Splink writes each level's SQL in the
backend's dialect). A model trained on one backend is used on another by carrying its parameters (`parameters`),
not Splink's saved JSON, whose SQL is in the dialect it was trained in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on

from sdfirst.exceptions import DataFirstError
from sdfirst.linkage.engine import Engine, single_threaded_for

#: Splink's logger of EM sampling, and the start of its message for a session whose records sampled for the
#: estimate of its size made no pair: the session is small, so it is run on every pair (as it should be)
SAMPLING_LOGGER = "splink.internals.em_sampling"
SMALL_SESSION = "Probe returned zero blocked pairs"


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
    column, or the column it names), `label` or `label_for_charts` (for Splink's charts), `is_null_level`, and the
    class's own arguments. The person model and the case journey model both build their levels here.

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
    if kind == "CustomLevel":
        spec.setdefault("base_dialect_str", "duckdb")  # the SQL is DuckDB's: Splink translates it for other engines
    options: dict[str, Any] = {key: spec.pop(key) for key in ("is_null_level", "label_for_charts") if key in spec}
    made = creator(*args, **spec)
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


def settings(cfg: dict[str, Any], trained: dict[str, Any] | None = None) -> SettingsCreator:
    """Splink settings for the person model; with `trained` (from `parameters`), already trained."""
    model = cfg["model"]
    comparisons, prior = with_parameters([comparison(c) for c in model["comparisons"]], trained, "model")
    return SettingsCreator(
        link_type=model["link_type"],
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[_rule(r) for r in model["blocking_rules_to_generate_predictions"]],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        **prior,
    )


def with_parameters(
    comparisons: list[Any], trained: dict[str, Any] | None, section: str
) -> tuple[list[Any], dict[str, Any]]:
    """Comparisons with the m and u probabilities of `trained` (from `parameters`), and the SettingsCreator
    arguments that set its prior; unchanged, and no arguments, when `trained` is None. `section` names the model in
    linkage.yaml for the error when the parameters are of another model."""
    if trained is None:
        return comparisons, {}
    prior = {"probability_two_random_records_match": trained["probability_two_random_records_match"]}
    return [_configured(c, trained, section) for c in comparisons], prior


def _configured(made: Any, trained: dict[str, Any], section: str) -> Any:
    """A comparison with the m and u probabilities of its non-null levels taken from `trained`."""
    name = made.get_comparison("duckdb").output_column_name
    levels = trained["comparisons"].get(name)
    if levels is None or len(levels["m"]) != made.num_non_null_levels:
        raise DataFirstError(f"the trained parameters do not fit comparison {name!r} of linkage.yaml's {section}")
    return made.configure(m_probabilities=levels["m"], u_probabilities=levels["u"])


def parameters(linker: Linker) -> dict[str, Any]:
    """A trained model's parameters, free of any SQL dialect: the prior, and each comparison's m and u
    probabilities (non-null levels, in order). `settings(cfg, parameters(linker))` is the same model on any
    backend."""
    model = linker.misc.save_model_to_json()
    comparisons = {}
    for c in model["comparisons"]:
        levels = [level for level in c["comparison_levels"] if not level.get("is_null_level")]
        comparisons[c["output_column_name"]] = {
            "m": [level.get("m_probability") for level in levels],
            "u": [level.get("u_probability") for level in levels],
        }
    return {
        "probability_two_random_records_match": model["probability_two_random_records_match"],
        "comparisons": comparisons,
    }


class _Without(logging.Filter):
    """Drops a logger's messages that contain `text`."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


@contextmanager
def without_message(logger_name: str, text: str) -> Iterator[None]:
    """Inside the block, the named logger's messages containing `text` are not reported (for a Splink message
    that is expected here and would only alarm a reader)."""
    quiet = _Without(text)
    logger = logging.getLogger(logger_name)
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def train(linker: Linker, cfg: dict[str, Any], engine: Engine | None = None) -> None:
    """Prior, u by random sampling (seeded: Splink picks records by a hash of id and seed) and m by EM.

    EM runs DuckDB at one thread. Each EM step sums match probabilities (DOUBLE) by comparison level, and a
    parallel SUM adds them in an order that depends on the thread count, so the m probabilities (and so every
    match weight and probability) differed in their last digits between one thread and two, and between two runs
    at two. Splink 5 offers no ordered or exact sum, so one thread is the only way to a model that is the same on
    every machine. The prior and u are counts of pairs (exact at any thread count), and prediction and clustering
    work pair by pair or on ids, so they keep every thread. On Spark the EM sums are added in the order its tasks
    finish, which Spark does not fix (their last digits can vary between runs), and its samples are drawn by Spark's
    hash, not DuckDB's, so a model trained there is close to DuckDB's but not the same: train once and carry the
    `parameters` for one model on both.

    `engine` is the engine the linker runs on; without it, the linker's own database is used.
    """
    training = cfg["training"]
    linker.training.estimate_probability_two_random_records_match(
        [_rule(r) for r in training["deterministic_matching_rules"]], recall=training["deterministic_recall"]
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=training["u_max_pairs"], seed=training["seed"])
    with (
        engine.single_threaded() if engine else single_threaded_for(linker),
        without_message(SAMPLING_LOGGER, SMALL_SESSION),
    ):
        for rule in training["em_blocking_rules"]:
            linker.training.estimate_parameters_using_expectation_maximisation(
                _rule(rule), max_pairs=training["em_max_pairs"]
            )
