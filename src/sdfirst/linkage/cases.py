"""The magistrates' to Crown Court case journey (`mags_crown_journey`): a scored Splink model of its own, as MoJ's.

Its records are defendants on cases: a magistrates' case and defendant (a case_summary row) and a Crown Court
defendant on a case. The two tables are linked (`link_only`) on what MoJ would hold: the estimated person (the cjs
id of xjs_link), offence code, offence date, the days from the magistrates' first hearing to the Crown Court's
receipt, and the court's area; the pairs are blocked on the estimated person, or on the same offence code and date.
The model is trained as the person model is (prior from deterministic rules, u by seeded random sampling, m by EM at
one DuckDB thread), or given a trained model's parameters (`model.parameters`, as the person model can be), then
each Crown Court defendant on a case keeps its best-scored magistrates' case at or above the threshold (ties broken
by the smaller magistrates' case id, then defendant id). Released columns: the two cases' and defendants' ids
(prefixed `mags_` and `crown_`) and `estimated_match_score`. Settings: linkage.yaml `case_journey`.

SQL is DuckDB's dialect without DuckDB-only forms, built by small functions and run through the pipeline's Engine
(`linkage.engine`: DuckDB, or Spark after translation by sqlglot); the model runs on the Engine's Splink database API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on

from sdfirst.exceptions import DataFirstError
from sdfirst.linkage.engine import Engine
from sdfirst.linkage.model import comparison, level, train, with_parameters, without_message

MAGS, CROWN = "mags", "crown"
#: the journey's internal tables (one per side: the records the model reads) and Splink's name for each side
RECORDS = {MAGS: "journey_mags_records", CROWN: "journey_crown_records"}
#: the common columns of both sides' records, in order: each side's entry in linkage.yaml maps them to its columns
COLUMNS = ("case_id", "person_id", "offence_code", "offence_date", "hearing_date", "receipt_date", "court_area")
DATES = ("offence_date", "hearing_date", "receipt_date")
#: the configuration keys that are SQL expressions rather than column names
EXPRESSIONS = ("court_area",)
#: Splink's logger of EM, and the start of the message it gives for a level that one session saw no pair of
EM_LOGGER = "splink.internals.expectation_maximisation"
UNOBSERVED = "not observed in dataset, unable to train m value"

log = logging.getLogger(__name__)


def sides(cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The two sides of the journey (linkage.yaml `case_journey.mags` and `.crown`)."""
    journey = cfg["case_journey"]
    return {MAGS: journey[MAGS], CROWN: journey[CROWN]}


def check_journey(cfg: dict[str, Any], file: str) -> None:
    """One-line errors for a journey the code cannot build: the magistrates' side needs its hearing date, the Crown
    Court side its receipt date (the gap between them is compared)."""
    s = sides(cfg)
    for side, needs in ((MAGS, "hearing_date"), (CROWN, "receipt_date")):
        if needs not in s[side]:
            raise DataFirstError(f"{file}: case_journey.{side} has no {needs}")
    if s[MAGS]["prefix"] == s[CROWN]["prefix"]:
        raise DataFirstError(f"{file}: case_journey's two sides need different prefixes")


def datasets(cfg: dict[str, Any]) -> tuple[str, str]:
    """The datasets the journey reads (magistrates', Crown Court)."""
    s = sides(cfg)
    return s[MAGS]["dataset"], s[CROWN]["dataset"]


def output_columns(cfg: dict[str, Any]) -> list[str]:
    """The released columns: magistrates' case and defendant, Crown Court case and defendant, the score."""
    s = sides(cfg)
    names = [f"{s[side]['prefix']}_{s[side][key]}" for side in (MAGS, CROWN) for key in ("case_id", "defendant_id")]
    return [*names, cfg["case_journey"]["score_column"]]


def _source_column(side: dict[str, Any], column: str, table_alias: str) -> str:
    """The SQL of one common column on one side (NULL where the side has none, e.g. the Crown Court's hearing)."""
    if column not in side:
        return f"CAST(NULL AS {'DATE' if column in DATES else 'VARCHAR'})"
    if column in EXPRESSIONS:
        return side[column]
    return f'{table_alias}."{side[column]}"'


def records_sql(cfg: dict[str, Any], side_name: str, xjs_table: str) -> str:
    """SELECT of one side's records in the journey's common columns, each with its estimated person."""
    side = sides(cfg)[side_name]
    person = cfg["case_journey"]["person_id"]
    columns = [f'CAST(t."{side["defendant_id"]}" AS VARCHAR) AS unique_id']
    for column in COLUMNS:
        value = f"x.{person}" if column == "person_id" else _source_column(side, column, "t")
        columns.append(f"{value} AS {column}")
    return f"""
        SELECT {", ".join(columns)}
        FROM "{side["dataset"]}"."{side["table"]}" t
        LEFT JOIN {xjs_table} x ON x.row_id_hash = t.row_id_hash"""


def journey_comparison(spec: dict[str, Any]):
    """A comparison of the journey model: a CustomComparison of listed levels, or any comparison the person model
    accepts (`model.comparison`)."""
    if spec["type"] != "CustomComparison":
        return comparison(spec)
    return cl.CustomComparison(
        comparison_levels=[level(item) for item in spec["comparison_levels"]],
        output_column_name=spec["output_column_name"],
        comparison_description=spec.get("comparison_description"),
    )


def journey_settings(cfg: dict[str, Any], trained: dict[str, Any] | None = None) -> SettingsCreator:
    """Splink settings of the journey model (linkage.yaml `case_journey.model`); with `trained` (from
    `model.parameters`), already trained."""
    model = cfg["case_journey"]["model"]
    rules = [r if isinstance(r, str) else block_on(*r) for r in model["blocking_rules_to_generate_predictions"]]
    made = [journey_comparison(c) for c in model["comparisons"]]
    comparisons, prior = with_parameters(made, trained, "case_journey model")
    return SettingsCreator(
        link_type=model["link_type"],
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        **prior,
    )


@contextmanager
def _sessions_may_miss_levels() -> Iterator[None]:
    """Inside the block, a level missing from one EM session is not reported (checked once at the end instead).

    Each journey session is blocked so that its pairs tell cases apart, and so some see no pair at a level: the
    same offence date finds almost no Crown Court receipt more than a year after the first hearing. The other
    session trains that level; `untrained_levels` names any level that no session trained.
    """
    with without_message(EM_LOGGER, UNOBSERVED):
        yield


def untrained_levels(linker: Linker) -> list[str]:
    """The levels (not null levels) whose m probability no EM session estimated ('comparison: level')."""
    model = linker.misc.save_model_to_json()
    return [
        f"{c['output_column_name']}: {level.get('label_for_charts', '')}"
        for c in model["comparisons"]
        for level in c["comparison_levels"]
        if not level.get("is_null_level") and level.get("m_probability") is None
    ]


def scored_sql(cfg: dict[str, Any], predictions: str) -> str:
    """The scored pairs with each side's case and defendant, whichever side of the pair Splink put it on."""
    mags_case, mags_defendant, crown_case, crown_defendant, score = output_columns(cfg)
    left_is_mags = f"p.source_dataset_l = '{MAGS}'"
    return f"""
        SELECT m.case_id AS {mags_case}, m.unique_id AS {mags_defendant},
               c.case_id AS {crown_case}, c.unique_id AS {crown_defendant}, p.match_probability AS {score}
        FROM {predictions} p
        JOIN {RECORDS[MAGS]} m ON m.unique_id = CASE WHEN {left_is_mags} THEN p.unique_id_l ELSE p.unique_id_r END
        JOIN {RECORDS[CROWN]} c ON c.unique_id = CASE WHEN {left_is_mags} THEN p.unique_id_r ELSE p.unique_id_l END"""


def best_sql(cfg: dict[str, Any], scored: str) -> str:
    """At most one magistrates' case per Crown Court defendant on a case: the best score at or above the threshold
    (ties: the smaller magistrates' case id, then defendant id), in a fixed row order."""
    mags_case, mags_defendant, crown_case, crown_defendant, score = output_columns(cfg)
    threshold = float(cfg["case_journey"]["threshold"])
    return f"""
        SELECT {mags_case}, {mags_defendant}, {crown_case}, {crown_defendant}, {score}
        FROM (
            SELECT s.*, row_number() OVER (
                PARTITION BY {crown_defendant} ORDER BY {score} DESC, {mags_case}, {mags_defendant}) AS choice
            FROM ({scored}) s
            WHERE {score} >= {threshold}) ranked
        WHERE choice = 1
        ORDER BY {crown_case}, {crown_defendant}"""


def journey_model(engine: Engine, cfg: dict[str, Any], xjs_table: str, trained: dict[str, Any] | None = None) -> Linker:
    """The journey model over both sides' records (made here as tables of the engine), trained, or given the
    `trained` parameters (`model.parameters`) of a model trained before, in which case nothing is estimated.

    `xjs_table` holds each person record's ids (its `case_journey.person_id` column is used).
    """
    for side in (MAGS, CROWN):
        engine.run(RECORDS[side], f"{records_sql(cfg, side, xjs_table)} ORDER BY unique_id")
    inputs = [engine.register(RECORDS[side], side) for side in (MAGS, CROWN)]  # each side's name is its source
    linker = Linker(inputs, journey_settings(cfg, trained), log_level=logging.WARNING)
    if trained is not None:
        return linker
    with _sessions_may_miss_levels():
        train(linker, {"training": cfg["case_journey"]["training"]}, engine)
    missed = untrained_levels(linker)
    if missed:
        log.warning("case journey: no EM session saw a pair at %s (Splink's starting m is used)", "; ".join(missed))
    return linker


def build_journey(
    engine: Engine, cfg: dict[str, Any], xjs_table: str, out_table: str, trained: dict[str, Any] | None = None
) -> int:
    """Train (or take the `trained` parameters of) and run the journey model; create `out_table` (the released
    journey) and return its rows.

    Only called when the folder holds both court datasets: the pipeline's plan (`linkage.pipeline.plan`) leaves the
    journey out, and says so, for a folder generated without them.
    """
    linker = journey_model(engine, cfg, xjs_table, trained)
    predictions = linker.inference.predict(threshold_match_probability=cfg["case_journey"]["threshold"])
    engine.run(out_table, best_sql(cfg, scored_sql(cfg, predictions.physical_name)))
    return engine.fetch(f"SELECT count(*) FROM {out_table}")[0][0]


def truth_sql(cfg: dict[str, Any], level: str) -> str:
    """The true journeys with the released columns' names: (a, b) pairs of magistrates' and Crown Court cases
    (`level` "cases", from truth.case_journey) or of their defendants (`level` "defendants": the two defendant rows
    of one true person on a truly linked pair of cases, from truth.record_person)."""
    s = sides(cfg)
    m, c = s[MAGS], s[CROWN]
    mags_case, _, crown_case, _, _ = output_columns(cfg)  # the truth names its case columns as the release does
    if level == "cases":
        return f"SELECT {mags_case} AS a, {crown_case} AS b FROM truth.case_journey"
    return f"""
        SELECT m."{m["defendant_id"]}" AS a, c."{c["defendant_id"]}" AS b
        FROM truth.case_journey j
        JOIN "{m["dataset"]}"."{m["table"]}" m ON m."{m["case_id"]}" = j.{mags_case}
        JOIN "{c["dataset"]}"."{c["table"]}" c ON c."{c["case_id"]}" = j.{crown_case}
        JOIN truth.record_person pm
          ON pm.dataset = '{m["dataset"]}' AND pm.table_name = '{m["table"]}' AND pm.row_id_hash = m.row_id_hash
        JOIN truth.record_person pc
          ON pc.dataset = '{c["dataset"]}' AND pc.table_name = '{c["table"]}' AND pc.row_id_hash = c.row_id_hash
        WHERE pm.person_id = pc.person_id"""


def predicted_sql(cfg: dict[str, Any], journey_table: str, level: str) -> str:
    """The released journey as (a, b) pairs of cases or of defendants, to score against `truth_sql`."""
    mags_case, mags_defendant, crown_case, crown_defendant, _ = output_columns(cfg)
    if level == "cases":
        return f"SELECT {mags_case} AS a, {crown_case} AS b FROM {journey_table}"
    return f"SELECT {mags_defendant} AS a, {crown_defendant} AS b FROM {journey_table}"
