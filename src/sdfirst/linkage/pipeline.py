"""The linkage pipeline: person records -> Splink model -> per-dataset, cjs and xjs person ids -> case journey.

One Splink model is trained on all person records together (one table, `dedupe_only`) and scores every blocked
pair once. Its pairs within a dataset are clustered into the per-dataset id (`estimated_person_id`, MoJ's
`estimated_offender_id`), its pairs between criminal records into the cjs stage's id (`estimated_mc_cc_ps_dp`,
`linkage.stages`), and all its pairs into the cross-justice id (`estimated_xjs_id`) at the chosen threshold and at
each level of linkage.yaml (`cluster_high`, ...). The case journey is a second Splink model (`linkage.cases`).
Outputs go to DIR/linking/, written to a temporary folder and renamed into place.
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

import duckdb
from splink import DuckDBAPI, Linker
from splink.clustering import cluster_pairwise_predictions_at_threshold
from splink.internals.clustering import cluster_pairwise_predictions_at_multiple_thresholds

from sdfirst.database import connect, made_by, read_manifest
from sdfirst.exceptions import DataFirstError
from sdfirst.linkage import cases
from sdfirst.linkage.cases import build_journey
from sdfirst.linkage.config import check_threshold, load_config
from sdfirst.linkage.evaluate import cluster_metrics, pair_metrics
from sdfirst.linkage.model import settings, train
from sdfirst.linkage.sources import PERSON_TABLE, available_sources, load_person_records
from sdfirst.linkage.stages import CJS, XJS, cluster_cjs, stage_id, stage_relation
from sdfirst.synth.output import move_into_place, temporary_folder

TRUTH = "truth"
XJS_TABLE = "xjs_link"
PERSON_IDS_TABLE = "person_ids"
JOURNEY_TABLE = "mags_crown_journey"
CJS_TABLE = "cjs_clusters"


def _opaque(prefix: str, column: str) -> str:
    """A stable opaque id from a cluster's representative record id (16 hex characters, like the other ids)."""
    return f"substr(md5('{prefix}:' || {column}), 1, 16)"


def _cluster_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The cluster id columns of a multiple-threshold clustering, in increasing threshold order."""
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0].startswith("cluster_")]


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
        """The datasets the linkage reads (the others need not be opened or checked)."""
        return {s["dataset"] for s in self.sources} | set(self.journey_datasets) | ({TRUTH} if self.truth else set())


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


def _source_map_sql(sources: list[dict[str, Any]]) -> str:
    """VALUES (source_dataset, dataset, table_name) of the sources used."""
    rows = ", ".join(f"('{s['source_dataset']}', '{s['dataset']}', '{s['table']}')" for s in sources)
    return f"(SELECT * FROM (VALUES {rows}) v(source_dataset, dataset, table_name))"


def _truth_sql(sources: list[dict[str, Any]], table: str, id_column: str, per_dataset: bool) -> str:
    """Rows (cluster_id, person_id) of an output table joined to truth.record_person."""
    person = "coalesce(t.person_id::VARCHAR, 'record:' || x.row_id_hash)"
    if per_dataset:
        person = f"x.source_dataset || ':' || {person}"
    return f"""
        SELECT x.{id_column} AS cluster_id, {person} AS person_id
        FROM {table} x JOIN {_source_map_sql(sources)} s USING (source_dataset)
        LEFT JOIN truth.record_person t
          ON t.dataset = s.dataset AND t.table_name = s.table_name AND t.row_id_hash = x.row_id_hash"""


def run_linkage(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    cfg: dict[str, Any],
    threshold: float,
    say: Callable[[str], None] = lambda _msg: None,
    what: Plan | None = None,
) -> dict[str, Any]:
    """Build the output tables in `con` (xjs_link, person_ids, mags_crown_journey) and return the evaluation.

    `what` is the folder's plan (worked out here if not given): without magistrates or Crown Court there is no
    case journey, and without the truth the evaluation holds the counts only.
    """
    start = time.perf_counter()
    what = what or plan(folder, cfg)
    sources = what.sources
    records = load_person_records(con, sources, cfg)
    say(f"{records:,} person records from {len(sources)} sources")

    db = DuckDBAPI(connection=con)
    sql = _DuckDBSql(con)
    linker = Linker(db.register(PERSON_TABLE, table_name="persons"), settings(cfg), log_level=logging.WARNING)
    train(linker, cfg)
    trained = time.perf_counter()
    say(f"model trained in {trained - start:.1f} s")

    levels = dict(cfg["thresholds"]["levels"])
    lowest = min([threshold, *levels.values()])
    predict = linker.inference.predict(threshold_match_probability=lowest)
    pairs = con.execute(f"SELECT count(*) FROM {predict.physical_name}").fetchall()[0][0]
    say(f"{pairs:,} pairs at match probability >= {lowest} in {time.perf_counter() - trained:.1f} s")

    # Cross-dataset ids: connected components of all pairs, at the chosen threshold and at each level (Splink
    # clusters at the lowest threshold and refines the clusters upwards).
    columns = {stage_id(cfg, XJS): threshold, **levels}
    thresholds = sorted(set(columns.values()))
    nodes = db.register(PERSON_TABLE, table_name="xjs_nodes")
    multi = cluster_pairwise_predictions_at_multiple_thresholds(
        nodes, predict, db_api=db, node_id_column_name="unique_id", match_probability_thresholds=thresholds
    )
    by_threshold = dict(zip(thresholds, _cluster_columns(con, multi.physical_name), strict=True))
    selects = [f"{_opaque('xjs', 'c.' + by_threshold[level])} AS {name}" for name, level in columns.items()]
    # The cjs stage: connected components of the pairs between records of its sources (empty for the others)
    cluster_cjs(sql, db, cfg, predict.physical_name, PERSON_TABLE, threshold, CJS_TABLE)
    selects.insert(0, f"{_opaque('cjs', 'k.cluster_id')} AS {stage_id(cfg, CJS)}")
    con.execute(f"""
        CREATE OR REPLACE TABLE {XJS_TABLE} AS
        SELECT p.source_dataset, p.unique_id AS row_id_hash, {", ".join(selects)}
        FROM {PERSON_TABLE} p JOIN {multi.physical_name} c USING (unique_id)
        LEFT JOIN {CJS_TABLE} k USING (unique_id)
        ORDER BY source_dataset, row_id_hash""")

    # Per-dataset ids: connected components of the pairs within a dataset, at the chosen threshold.
    con.execute(f"""
        CREATE OR REPLACE TABLE within_dataset_edges AS
        SELECT e.unique_id_l, e.unique_id_r, e.match_probability
        FROM {predict.physical_name} e
        JOIN {PERSON_TABLE} a ON a.unique_id = e.unique_id_l
        JOIN {PERSON_TABLE} b ON b.unique_id = e.unique_id_r
        WHERE a.source_dataset = b.source_dataset""")
    cc = cluster_pairwise_predictions_at_threshold(
        db.register(PERSON_TABLE, table_name="person_nodes"),
        db.register("within_dataset_edges", table_name="within_dataset_edges"),
        db_api=db,
        node_id_column_name="unique_id",
        threshold_match_probability=threshold,
    )
    con.execute(f"""
        CREATE OR REPLACE TABLE {PERSON_IDS_TABLE} AS
        SELECT p.source_dataset, p.unique_id AS row_id_hash, {_opaque("person", "c.cluster_id")} AS estimated_person_id
        FROM {PERSON_TABLE} p JOIN {cc.physical_name} c USING (unique_id)
        ORDER BY source_dataset, row_id_hash""")

    if what.journey:
        before_journey = time.perf_counter()
        journeys = build_journey(sql, db, cfg, XJS_TABLE, JOURNEY_TABLE)
        clustered = time.perf_counter()
        say(
            f"clustered in {before_journey - trained:.1f} s; case journey model: "
            f"{journeys:,} Crown Court defendants linked in {clustered - before_journey:.1f} s"
        )
    else:
        clustered = time.perf_counter()
        say(f"clustered in {clustered - trained:.1f} s (no case journey: this folder lacks the courts)")
    seconds = clustered - start

    evaluation: dict[str, Any] = {
        "threshold": threshold,
        "records": records,
        "records_by_source": dict(
            con.execute(f"SELECT source_dataset, count(*) FROM {PERSON_TABLE} GROUP BY 1 ORDER BY 1").fetchall()
        ),
        "scored_pairs": pairs,
        "seconds": round(seconds, 2),
        "seconds_training": round(trained - start, 2),
        "records_per_second": round(records / seconds),
    }
    if not what.truth:
        return evaluation
    cjs_records = f"SELECT * FROM ({_truth_sql(sources, XJS_TABLE, stage_id(cfg, CJS), per_dataset=False)}) r"
    evaluation |= {
        "stages": stage_relation(sql, XJS_TABLE, cfg),
        "cjs": cluster_metrics(con, f"{cjs_records} WHERE cluster_id IS NOT NULL"),
        "xjs": cluster_metrics(con, _truth_sql(sources, XJS_TABLE, stage_id(cfg, XJS), per_dataset=False)),
        "levels": {
            name: {"threshold": level, **cluster_metrics(con, _truth_sql(sources, XJS_TABLE, name, per_dataset=False))}
            for name, level in levels.items()
        },
        "person_ids": cluster_metrics(
            con, _truth_sql(sources, PERSON_IDS_TABLE, "estimated_person_id", per_dataset=True)
        ),
    }
    if what.journey_truth:
        evaluation["case_journey"] = _journey_metrics(con, cfg)
    return evaluation


def _journey_metrics(con: duckdb.DuckDBPyConnection, cfg: dict[str, Any]) -> dict[str, Any]:
    """The journey against the truth at its threshold: pairs of cases (as truth.case_journey holds them) and, under
    `defendants`, pairs of defendant records (the released rows)."""
    scored = {
        level: pair_metrics(con, cases.predicted_sql(cfg, JOURNEY_TABLE, level), cases.truth_sql(cfg, level))
        for level in ("cases", "defendants")
    }
    return {"threshold": cfg["case_journey"]["threshold"], **scored["cases"], "defendants": scored["defendants"]}


class _DuckDBSql:
    """`stages.Sql` on a DuckDB connection: where the stages and the case journey run their SQL."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def run(self, name: str, select: str) -> None:
        self.con.execute(f"CREATE TABLE {name} AS {select}")

    def fetch(self, select: str) -> list[tuple[Any, ...]]:
        return self.con.execute(select).fetchall()


def _write(
    con: duckdb.DuckDBPyConnection, cfg: dict[str, Any], tmp: Path, out: Path, evaluation: dict[str, Any], journey: bool
) -> None:
    """Write the tables and evaluation to the temporary folder `tmp` beside `out`, then rename it into place."""
    files = cfg["output"]
    tables = [(XJS_TABLE, "xjs_link"), (PERSON_IDS_TABLE, "person_ids")] + ([(JOURNEY_TABLE, "case_journey")] * journey)
    for table, name in tables:
        path = str(tmp / files[name]).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM {table}) TO '{path}' (FORMAT PARQUET, COMPRESSION ZSTD)")
    (tmp / files["evaluation"]).write_text(json.dumps(evaluation, indent=2) + "\n", encoding="utf-8")
    move_into_place(tmp, out)


def link(
    folder: str | Path,
    threshold: float | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
    threads: int | None = None,
    notice: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Link the person records of a generated folder; write DIR/linking/ and return the evaluation.

    `threshold` is the match probability of the chosen clusters (linkage.yaml's `thresholds.chosen` if None).
    Everything that can stop the run is checked first: the folder and every file it reads, and the destination,
    by creating the temporary folder the output is written to. What the folder lacks (datasets, the truth) is
    left out and said in one line to `notice` (a warning if None).
    `threads` is DuckDB's thread count (every core if None); the output is the same at any count.
    """
    folder = Path(folder)
    cfg = load_config()
    threshold = check_threshold(cfg["thresholds"]["chosen"] if threshold is None else threshold)
    what = plan(folder, cfg)  # a one-line error if this is not a generated folder
    out = folder / cfg["output"]["folder"]
    _check_destination(out, overwrite)
    con = connect(folder, datasets=what.datasets, linking=False, threads=threads)  # checks every file the linkage reads
    try:
        tmp = temporary_folder(out)  # can the output be written? found out now, not after the linkage
        try:
            if what.note:
                (notice or _warn)(what.note)
            evaluation = run_linkage(con, folder, cfg, threshold, say=progress or (lambda _msg: None), what=what)
            _write(con, cfg, tmp, out, evaluation, what.journey)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        con.close()
    return evaluation


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)
