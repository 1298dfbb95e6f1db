"""The linkage pipeline: person records -> Splink model -> per-dataset, cjs and xjs person ids -> case journey.

Stages, each a function here, each run through an Engine (`linkage.engine`: Splink's DuckDBAPI or SparkAPI, with
the glue SQL written once in DuckDB's dialect and translated for Spark by sqlglot): `prepare` the person records
(sources.py), `train_model` and `predict` with the one Splink model of linkage.yaml (model.py), `cluster`, the case
journey (cases.py, a second Splink model), `write`. One model is trained on all person records together (one
table, `dedupe_only`) and scores every blocked pair once. Its pairs within a dataset are clustered into the
per-dataset id (`estimated_person_id`, MoJ's `estimated_offender_id`), its pairs between criminal records into the
cjs stage's id (`estimated_mc_cc_ps_dp`, `linkage.stages`), and all its pairs into the cross-justice id
(`estimated_xjs_id`) at the chosen threshold and at each level of linkage.yaml (`cluster_high`, ...). Outputs go
to DIR/linking/, written to a temporary folder and renamed into place. Scoring against the truth is a step of its
own (`linkage.evaluate`), always DuckDB over the written files, whichever engine linked.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splink import Linker
from splink.clustering import cluster_pairwise_predictions_at_threshold

from sdfirst.database import check_folder, made_by, read_manifest
from sdfirst.exceptions import DataFirstError
from sdfirst.linkage import cases
from sdfirst.linkage.cases import build_journey, journey_model
from sdfirst.linkage.config import check_threshold, load_config
from sdfirst.linkage.engine import Engine, check_engine, open_engine
from sdfirst.linkage.evaluate import TRUTH, evaluate_outputs
from sdfirst.linkage.model import parameters, settings, train
from sdfirst.linkage.sources import PERSON_TABLE, available_sources, load_person_records
from sdfirst.linkage.stages import CJS, XJS, cluster_cjs, stage_id
from sdfirst.synth.output import move_into_place, temporary_folder

XJS_TABLE = "xjs_link"
PERSON_IDS_TABLE = "person_ids"
JOURNEY_TABLE = "mags_crown_journey"
CJS_TABLE = "cjs_clusters"
#: the keys of a `trained` argument: each model's parameters (`model.parameters`)
PERSONS, JOURNEY = "persons", "case_journey"


def _opaque(prefix: str, column: str) -> str:
    """A stable opaque id from a cluster's representative record id (16 hex characters, like the other ids)."""
    return f"substr(md5('{prefix}:' || {column}), 1, 16)"


def _check_destination(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise DataFirstError(f"{out} already exists (use --overwrite to replace it)")
    if out.exists() and not out.is_dir():
        raise DataFirstError(f"{out} exists and is not a folder")


@dataclass(frozen=True)
class Plan:
    """What a folder allows `link` to do: the sources it holds, whether the case journey and the evaluation can be
    made (they need magistrates and Crown Court, and the truth), and a note on anything left out."""

    sources: list[dict[str, Any]]
    journey_datasets: tuple[str, ...]  # empty when the folder lacks one of them: no case journey
    truth: bool
    journey_truth: bool  # the truth holds the true case journeys, to score the journey against
    note: str | None

    @property
    def journey(self) -> bool:
        return bool(self.journey_datasets)

    @property
    def datasets(self) -> set[str]:
        """The datasets the linkage reads (the others need not be opened or checked; the truth is the evaluation's)."""
        return {s["dataset"] for s in self.sources} | set(self.journey_datasets)


def plan(folder: Path, cfg: dict[str, Any]) -> Plan:
    """What can be linked in `folder`, decided from its manifest before any work (one-line errors otherwise)."""
    manifest = read_manifest(folder)
    sources = available_sources(folder, cfg)
    held = {key.split(".", 1)[0] for key in manifest["tables"]}
    needed = cases.datasets(cfg)
    absent = [d for d in dict.fromkeys([s["dataset"] for s in cfg["sources"]] + list(needed)) if d not in held]
    journey = all(d in held for d in needed)
    truth = TRUTH in held and (folder / TRUTH).is_dir()
    notes = []
    if absent:
        linked = ", ".join(dict.fromkeys(s["dataset"] for s in sources))
        without = "" if journey else f" and without the case journey (it needs {' and '.join(needed)})"
        notes.append(
            f"{folder} has no {', '.join(absent)} (it was made by `{made_by(manifest)}`): "
            f"linking {linked} only{without}"
        )
    if not truth:
        notes.append(f"{folder} has no {TRUTH}/: linking without scoring the result against the truth")
    journey_truth = journey and truth and f"{TRUTH}.case_journey" in manifest["tables"]
    return Plan(sources, needed if journey else (), truth, journey_truth, "; ".join(notes) or None)


def prepare(engine: Engine, what: Plan, cfg: dict[str, Any]) -> int:
    """Stage 1: every person record of the folder's sources in one table (`PERSON_TABLE`); returns its rows."""
    return load_person_records(engine, what.sources, cfg)


def train_model(engine: Engine, cfg: dict[str, Any], trained: dict[str, Any] | None = None) -> Linker:
    """Stage 2a: the Splink model of linkage.yaml over the person records, trained (or given its `trained`
    parameters, from `model.parameters`, in which case nothing is estimated)."""
    linker = Linker(engine.register(PERSON_TABLE, "persons"), settings(cfg, trained), log_level=logging.WARNING)
    if trained is None:
        train(linker, cfg, engine)
    return linker


def predict(engine: Engine, linker: Linker, lowest: float) -> tuple[Any, int]:
    """Stage 2b: every blocked pair scored once, kept at match probability `lowest` or above: (pairs, count)."""
    pairs = linker.inference.predict(threshold_match_probability=lowest)
    ((count,),) = engine.fetch(f"SELECT count(*) FROM {pairs.physical_name}")
    return pairs, count


def _components(engine: Engine, nodes: Any, edges: Any, threshold: float) -> str:
    """The table of (unique_id, cluster_id) of the connected components of the edges at or above `threshold`."""
    cc = cluster_pairwise_predictions_at_threshold(
        nodes, edges, db_api=engine.db_api, node_id_column_name="unique_id", threshold_match_probability=threshold
    )
    return cc.physical_name


def cluster(engine: Engine, cfg: dict[str, Any], pairs: Any, threshold: float, levels: dict[str, float]) -> None:
    """Stage 3: the cjs ids (`CJS_TABLE`), the xjs ids at every threshold beside them (`XJS_TABLE`) and the
    per-dataset ids (`PERSON_IDS_TABLE`)."""
    cluster_cjs(engine, cfg, pairs.physical_name, PERSON_TABLE, threshold, CJS_TABLE)
    cluster_across(engine, pairs, {stage_id(cfg, XJS): threshold, **levels}, cjs=(stage_id(cfg, CJS), CJS_TABLE))
    cluster_within(engine, pairs, threshold)


def cluster_across(engine: Engine, pairs: Any, columns: dict[str, float], cjs: tuple[str, str] | None = None) -> None:
    """`XJS_TABLE`: a column of cluster ids per threshold (`columns`: name -> match probability), clustering all
    pairs, within and across datasets, after the cjs id (`cjs`: its column and the table of its clusters; empty
    for a record of another source).

    Each threshold is clustered on its own with Splink's public `cluster_pairwise_predictions_at_threshold`
    (Splink's several-threshold clustering is not public in 5.0; a component's id is its smallest record id either
    way, so the ids are the same).
    """
    nodes = engine.register(PERSON_TABLE, "xjs_nodes")
    tables = {level: _components(engine, nodes, pairs, level) for level in sorted(set(columns.values()))}
    aliases = {level: f"c{i}" for i, level in enumerate(tables)}
    joins = " ".join(f"JOIN {table} {aliases[level]} USING (unique_id)" for level, table in tables.items())
    selects = [f"{_opaque('xjs', aliases[level] + '.cluster_id')} AS {name}" for name, level in columns.items()]
    if cjs is not None:
        column, table = cjs
        selects.insert(0, f"{_opaque('cjs', 'k.cluster_id')} AS {column}")
        joins += f" LEFT JOIN {table} k USING (unique_id)"
    engine.run(
        XJS_TABLE,
        f"SELECT p.source_dataset, p.unique_id AS row_id_hash, {', '.join(selects)} FROM {PERSON_TABLE} p {joins}",
    )


def cluster_within(engine: Engine, pairs: Any, threshold: float) -> None:
    """`PERSON_IDS_TABLE`: the connected components of the pairs within a dataset, at `threshold`."""
    engine.run(
        "within_dataset_edges",
        f"""SELECT e.unique_id_l, e.unique_id_r, e.match_probability
        FROM {pairs.physical_name} e
        JOIN {PERSON_TABLE} a ON a.unique_id = e.unique_id_l
        JOIN {PERSON_TABLE} b ON b.unique_id = e.unique_id_r
        WHERE a.source_dataset = b.source_dataset""",
    )
    within = _components(
        engine,
        engine.register(PERSON_TABLE, "person_nodes"),
        engine.register("within_dataset_edges", "within_dataset_edges"),
        threshold,
    )
    engine.run(
        PERSON_IDS_TABLE,
        f"""SELECT p.source_dataset, p.unique_id AS row_id_hash,
               {_opaque("person", "c.cluster_id")} AS estimated_person_id
        FROM {PERSON_TABLE} p JOIN {within} c USING (unique_id)""",
    )


def run_linkage(
    engine: Engine,
    folder: Path,
    cfg: dict[str, Any],
    threshold: float,
    say: Callable[[str], None] = lambda _msg: None,
    what: Plan | None = None,
    trained: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the output tables on the engine (xjs_link, person_ids, mags_crown_journey); return the run's figures.

    `what` is the folder's plan (worked out here if not given): without magistrates or Crown Court there is no
    case journey. `trained` holds trained models' parameters (`train_models`: `persons`, and `case_journey` if
    the journey model is given too), to predict with them instead of training. Scoring against the truth is a step
    of its own (`evaluate.evaluate_outputs`), on the written files.
    """
    start = time.perf_counter()
    what = what or plan(folder, cfg)
    trained = trained or {}
    records = prepare(engine, what, cfg)
    say(f"{records:,} person records from {len(what.sources)} sources")

    linker = train_model(engine, cfg, trained.get(PERSONS))
    trained_at = time.perf_counter()
    say(f"model {'given' if PERSONS in trained else 'trained'} in {trained_at - start:.1f} s")

    levels = dict(cfg["thresholds"]["levels"])
    lowest = min([threshold, *levels.values()])
    pairs, count = predict(engine, linker, lowest)
    say(f"{count:,} pairs at match probability >= {lowest} in {time.perf_counter() - trained_at:.1f} s")

    cluster(engine, cfg, pairs, threshold, levels)
    if what.journey:
        before_journey = time.perf_counter()
        journeys = build_journey(engine, cfg, XJS_TABLE, JOURNEY_TABLE, trained.get(JOURNEY))
        clustered = time.perf_counter()
        say(
            f"clustered in {before_journey - trained_at:.1f} s; case journey model "
            f"{'given' if JOURNEY in trained else 'trained'}: "
            f"{journeys:,} Crown Court defendants linked in {clustered - before_journey:.1f} s"
        )
    else:
        clustered = time.perf_counter()
        say(f"clustered in {clustered - trained_at:.1f} s (no case journey: this folder lacks the courts)")
    seconds = clustered - start
    return {
        "threshold": threshold,
        "engine": engine.name,
        "records": records,
        "records_by_source": dict(
            engine.fetch(f"SELECT source_dataset, count(*) FROM {PERSON_TABLE} GROUP BY 1 ORDER BY 1")
        ),
        "scored_pairs": count,
        "seconds": round(seconds, 2),
        "seconds_training": round(trained_at - start, 2),
        "records_per_second": round(records / seconds),
    }


def train_models(
    folder: str | Path,
    threshold: float | None = None,
    engine: str = "duckdb",
    threads: int | None = None,
    master: str | None = None,
) -> dict[str, Any]:
    """Both models of the linkage trained on a generated folder, as parameters free of any SQL dialect:
    `{"persons": ..., "case_journey": ...}` (each from `model.parameters`; no journey for a folder without the
    courts). `link(..., trained=train_models(folder))` on another engine predicts with the same models, which is
    how DuckDB and Spark give the same linkage (a model trained on Spark is a slightly different estimate:
    `model.train`). The journey model reads the cjs ids, so the person pairs are scored and clustered first, at
    `threshold` (linkage.yaml's chosen one if None), as `link` does; nothing is written.
    """
    folder = Path(folder)
    cfg = load_config()
    threshold = check_threshold(cfg["thresholds"]["chosen"] if threshold is None else threshold)
    check_engine(engine, master)
    what = plan(folder, cfg)
    on = open_engine(engine, folder, what.datasets, threads=threads, master=master)
    try:
        prepare(on, what, cfg)
        linker = train_model(on, cfg)
        models = {PERSONS: parameters(linker)}
        if what.journey:
            levels = dict(cfg["thresholds"]["levels"])
            pairs, _ = predict(on, linker, min([threshold, *levels.values()]))
            cluster(on, cfg, pairs, threshold, levels)
            models[JOURNEY] = parameters(journey_model(on, cfg, XJS_TABLE))
    finally:
        on.close()
    return models


def _check_trained(trained: dict[str, Any] | None) -> None:
    """A one-line error for `trained` parameters not shaped as `train_models` returns them."""
    if trained is None:
        return
    if not isinstance(trained, dict) or PERSONS not in trained or not set(trained) <= {PERSONS, JOURNEY}:
        raise DataFirstError(
            f"trained must hold the models' parameters as train_models returns them ({PERSONS!r}, {JOURNEY!r})"
        )


def write(engine: Engine, cfg: dict[str, Any], tmp: Path, journey: bool) -> None:
    """Stage 4: the output tables as Parquet files in the temporary folder `tmp` (renamed into place by `link`)."""
    files = cfg["output"]
    key = ["source_dataset", "row_id_hash"]
    tables = [(XJS_TABLE, "xjs_link", key), (PERSON_IDS_TABLE, "person_ids", key)]
    if journey:
        _, _, crown_case, crown_defendant, _ = cases.output_columns(cfg)  # one row per Crown Court defendant
        tables.append((JOURNEY_TABLE, "case_journey", [crown_case, crown_defendant]))
    for table, name, order in tables:
        engine.write_parquet(table, tmp / files[name], order)


def link(
    folder: str | Path,
    threshold: float | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
    threads: int | None = None,
    notice: Callable[[str], None] | None = None,
    engine: str = "duckdb",
    master: str | None = None,
    evaluate: bool | None = None,
    trained: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Link the person records of a generated folder; write DIR/linking/ and return the run's figures (and the
    evaluation against the truth, when made).

    `threshold` is the match probability of the chosen clusters (linkage.yaml's `thresholds.chosen` if None).
    Everything that can stop the run is checked first: the engine (pyspark and Java for Spark), the folder and
    every file it reads, and the destination, by creating the temporary folder the output is written to. What the
    folder lacks (datasets, the truth) is left out and said in one line to `notice` (a warning if None).
    `engine` is "duckdb" or "spark"; `threads` is DuckDB's thread count (every core if None) or the cores of
    Spark's local mode; `master` a Spark master URL instead. The output is the same at any thread count.
    `evaluate` scores the written outputs against the truth (by default when the folder has it; True without a
    truth is an error). `trained` is the models' parameters from `train_models` (the person model's, and the case
    journey's): they are not trained again, so that two engines can predict with one model.
    """
    folder = Path(folder)
    cfg = load_config()
    threshold = check_threshold(cfg["thresholds"]["chosen"] if threshold is None else threshold)
    check_engine(engine, master)
    _check_trained(trained)
    what = plan(folder, cfg)  # a one-line error if this is not a generated folder
    if evaluate and not what.truth:
        raise DataFirstError(f"{folder} has no {TRUTH}/ to evaluate against (link it without --evaluate)")
    evaluate = what.truth if evaluate is None else evaluate
    out = folder / cfg["output"]["folder"]
    _check_destination(out, overwrite)
    if evaluate:
        check_folder(folder, {TRUTH})  # a damaged truth is found now, not after the linkage
    linking = open_engine(engine, folder, what.datasets, threads=threads, master=master)  # checks every file read
    try:
        tmp = temporary_folder(out)  # can the output be written? found out now, not after the linkage
        try:
            if what.note:
                (notice or _warn)(what.note)
            say = progress or (lambda _msg: None)
            stats = run_linkage(linking, folder, cfg, threshold, say=say, what=what, trained=trained)
            write(linking, cfg, tmp, what.journey)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        linking.close()
    try:
        evaluation = stats | (evaluate_outputs(folder, tmp, cfg) if evaluate else {})
        (tmp / cfg["output"]["evaluation"]).write_text(json.dumps(evaluation, indent=2) + "\n", encoding="utf-8")
        move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return evaluation


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)
