"""Score clusters against the ground truth, in SQL: pairwise and B-cubed precision and recall, exact clusters.

Every metric takes a query with one row per record and the columns `cluster_id` (estimated) and `person_id`
(true). Pairs are counted from the sizes of clusters, people and their intersections (n choose 2 each), so no
pair is ever listed.

- pairwise precision = true pairs found / pairs in the same cluster; recall = true pairs found / pairs of records
  of the same person; F1 their harmonic mean. Large clusters dominate (their pairs grow with the square of size).
- B-cubed precision = the mean over records of the share of the record's cluster that is its person; recall = the
  mean over records of the share of the record's person that is in its cluster.
- exact_person_share = the share of true people whose records fall in exactly one cluster holding nothing else.

With nothing predicted (or nothing to find), precision (or recall) is 1: no claim was wrong (or missed).

Every sum is of integers, and the B-cubed means are added up as exact fractions: a parallel SUM of DOUBLE adds in
an order that depends on DuckDB's thread count, which changed their last digits from one run to the next.

Evaluation is a step of its own (`evaluate_outputs`, `evaluate_folder`, `sdfirst evaluate DIR`): it reads the
linkage's written Parquet files and the folder's truth/ with DuckDB, whichever engine linked, so that `link` also
runs on a folder without the truth (a real extract has none).
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb

from sdfirst.database import connect, parquet_rows, read_manifest
from sdfirst.exceptions import DataFirstError
from sdfirst.linkage import cases
from sdfirst.linkage.config import load_config
from sdfirst.linkage.engine import DuckDBEngine
from sdfirst.linkage.stages import CJS, XJS, stage_id, stage_relation

TRUTH = "truth"
#: The entries of evaluation.json that score the linkage against the truth, or check it (`stages`: how the two
#: stages' clusters relate); the others describe the run.
METRICS = ("stages", "cjs", "xjs", "levels", "person_ids", "case_journey")


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 1.0


def _exact_share_sum(sums_by_size: list[tuple[int, int]] | None) -> Fraction:
    """The sum over cells of n_cp^2 / n, given (n, sum of n_cp^2 over the cells of groups of size n)."""
    return sum((Fraction(int(squares), int(size)) for size, squares in sums_by_size or []), Fraction(0))


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def cluster_metrics(con: duckdb.DuckDBPyConnection, records_sql: str) -> dict[str, Any]:
    """Pairwise and cluster-level metrics of `records_sql` (columns cluster_id, person_id; a row per record)."""
    row = con.execute(f"""
        WITH r AS (SELECT cluster_id, person_id FROM ({records_sql})),
        cells AS (SELECT cluster_id, person_id, count(*)::BIGINT AS n FROM r GROUP BY cluster_id, person_id),
        clusters AS (SELECT cluster_id, count(*)::BIGINT AS n FROM r GROUP BY cluster_id),
        people AS (SELECT person_id, count(*)::BIGINT AS n FROM r GROUP BY person_id),
        joined AS (
            SELECT cells.n AS n_cp, clusters.n AS n_c, people.n AS n_p
            FROM cells JOIN clusters USING (cluster_id) JOIN people USING (person_id))
        SELECT
            (SELECT sum(n) FROM clusters) AS records,
            (SELECT count(*) FROM clusters) AS clusters,
            (SELECT count(*) FROM people) AS people,
            (SELECT sum(n * (n - 1) // 2) FROM cells) AS true_positive_pairs,
            (SELECT sum(n * (n - 1) // 2) FROM clusters) AS predicted_pairs,
            (SELECT sum(n * (n - 1) // 2) FROM people) AS true_pairs,
            -- B-cubed: the integer sums of n_cp^2 by cluster size and by person size, divided exactly in Python
            (SELECT list((n_c, s) ORDER BY n_c) FROM (SELECT n_c, sum(n_cp * n_cp) AS s FROM joined GROUP BY n_c))
                AS b3_precision_sums,
            (SELECT list((n_p, s) ORDER BY n_p) FROM (SELECT n_p, sum(n_cp * n_cp) AS s FROM joined GROUP BY n_p))
                AS b3_recall_sums,
            -- an aggregate, not a WHERE: as a filter, DuckDB derives clusters.n = people.n from it and may join
            -- clusters to people on their sizes alone, a near cartesian product
            (SELECT sum(CASE WHEN n_cp = n_c AND n_cp = n_p THEN 1 ELSE 0 END) FROM joined) AS exact_people
        """).fetchall()[0]
    *counts, b3p_sums, b3r_sums, exact = row
    records, clusters, people, tp, predicted, true = (0 if v is None else v for v in counts)
    exact = exact or 0
    precision, recall = _ratio(tp, predicted), _ratio(tp, true)
    b3p, b3r = _exact_share_sum(b3p_sums), _exact_share_sum(b3r_sums)
    return {
        "records": int(records),
        "clusters": int(clusters),
        "people": int(people),
        "pairs": {"true_positive": int(tp), "predicted": int(predicted), "true": int(true)},
        "pairwise_precision": precision,
        "pairwise_recall": recall,
        "pairwise_f1": _f1(precision, recall),
        "b3_precision": _ratio(b3p, records),
        "b3_recall": _ratio(b3r, records),
        "b3_f1": _f1(_ratio(b3p, records), _ratio(b3r, records)),
        "exact_person_share": _ratio(exact, people),
    }


def pair_metrics(con: duckdb.DuckDBPyConnection, predicted_sql: str, truth_sql: str) -> dict[str, Any]:
    """Precision and recall of a set of (a, b) pairs against true pairs (both queries with columns a, b)."""
    predicted, true, found = con.execute(f"""
        WITH p AS (SELECT DISTINCT a, b FROM ({predicted_sql})), t AS (SELECT DISTINCT a, b FROM ({truth_sql}))
        SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM t), (SELECT count(*) FROM p JOIN t USING (a, b))
        """).fetchall()[0]
    precision, recall = _ratio(found, predicted), _ratio(found, true)
    return {
        "predicted": int(predicted),
        "true": int(true),
        "found": int(found),
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
    }


def _source_map_sql(sources: list[dict[str, Any]]) -> str:
    """VALUES (source_dataset, dataset, table_name) of the sources."""
    rows = ", ".join(f"('{s['source_dataset']}', '{s['dataset']}', '{s['table']}')" for s in sources)
    return f"(SELECT * FROM (VALUES {rows}) v(source_dataset, dataset, table_name))"


def truth_sql(sources: list[dict[str, Any]], table: str, id_column: str, per_dataset: bool) -> str:
    """Rows (cluster_id, person_id) of an output table joined to truth.record_person (a record the truth does not
    know is a person of its own; with `per_dataset`, people are counted within each dataset)."""
    person = "coalesce(t.person_id::VARCHAR, 'record:' || x.row_id_hash)"
    if per_dataset:
        person = f"x.source_dataset || ':' || {person}"
    return f"""
        SELECT x.{id_column} AS cluster_id, {person} AS person_id
        FROM {table} x JOIN {_source_map_sql(sources)} s USING (source_dataset)
        LEFT JOIN truth.record_person t
          ON t.dataset = s.dataset AND t.table_name = s.table_name AND t.row_id_hash = x.row_id_hash"""


def _open_outputs(con: duckdb.DuckDBPyConnection, outputs: Path, files: dict[str, str]) -> set[str]:
    """Views over the linkage's Parquet files in `outputs` (named as linkage.yaml's `output` keys); which exist."""
    found = set()
    for name in ("xjs_link", "person_ids", "case_journey"):
        path = outputs / files[name]
        if path.is_file():
            parquet_rows(path)  # a damaged output gets one line naming it
            file = str(path.resolve()).replace("'", "''")
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{file}')")
            found.add(name)
    return found


def evaluate_outputs(folder: str | Path, outputs: str | Path, cfg: dict[str, Any]) -> dict[str, Any]:
    """The linkage outputs in the folder `outputs` (xjs_link.parquet, ...) scored against the truth of the
    generated `folder`, with DuckDB: how the two stages' clusters relate, the cjs id (the criminal records only),
    the cross-dataset id at the chosen threshold and at each level, the per-dataset id, and the case journey (by
    pairs of cases and of defendants) where the truth holds the true journeys."""
    folder, outputs = Path(folder), Path(outputs)
    manifest = read_manifest(folder)
    if TRUTH not in {key.split(".", 1)[0] for key in manifest["tables"]} or not (folder / TRUTH).is_dir():
        raise DataFirstError(f"{folder} has no {TRUTH}/ to evaluate the linkage against")
    journey = (outputs / cfg["output"]["case_journey"]).is_file() and f"{TRUTH}.case_journey" in manifest["tables"]
    # the journey's defendants are matched to the truth through the courts' own tables
    con = connect(folder, datasets={TRUTH, *(cases.datasets(cfg) if journey else ())}, linking=False)
    try:
        found = _open_outputs(con, outputs, cfg["output"])
        if not {"xjs_link", "person_ids"} <= found:
            raise DataFirstError(f"{outputs} holds no linkage output (run `sdfirst link {folder}` first)")
        evaluation = _stage_metrics(con, cfg)
        if journey:
            evaluation["case_journey"] = _journey_metrics(con, cfg, "case_journey")
    finally:
        con.close()
    return evaluation


def _stage_metrics(con: duckdb.DuckDBPyConnection, cfg: dict[str, Any]) -> dict[str, Any]:
    """The person ids of the views xjs_link and person_ids scored against the truth (a level or the cjs id that
    the output lacks is left out)."""
    sources = cfg["sources"]
    xjs_columns = {d[0] for d in con.execute("SELECT * FROM xjs_link LIMIT 0").description}
    evaluation: dict[str, Any] = {}
    cjs = stage_id(cfg, CJS)
    if cjs in xjs_columns:
        cjs_records = f"SELECT * FROM ({truth_sql(sources, 'xjs_link', cjs, per_dataset=False)}) r"
        evaluation["stages"] = stage_relation(DuckDBEngine(con), "xjs_link", cfg)
        evaluation["cjs"] = cluster_metrics(con, f"{cjs_records} WHERE cluster_id IS NOT NULL")
    evaluation |= {
        "xjs": cluster_metrics(con, truth_sql(sources, "xjs_link", stage_id(cfg, XJS), per_dataset=False)),
        "levels": {
            name: {"threshold": level, **cluster_metrics(con, truth_sql(sources, "xjs_link", name, False))}
            for name, level in cfg["thresholds"]["levels"].items()
            if name in xjs_columns
        },
        "person_ids": cluster_metrics(con, truth_sql(sources, "person_ids", "estimated_person_id", per_dataset=True)),
    }
    return evaluation


def _journey_metrics(con: duckdb.DuckDBPyConnection, cfg: dict[str, Any], journey_table: str) -> dict[str, Any]:
    """The journey against the truth at its threshold: pairs of cases (as truth.case_journey holds them) and, under
    `defendants`, pairs of defendant records (the released rows)."""
    scored = {
        level: pair_metrics(con, cases.predicted_sql(cfg, journey_table, level), cases.truth_sql(cfg, level))
        for level in ("cases", "defendants")
    }
    return {"threshold": cfg["case_journey"]["threshold"], **scored["cases"], "defendants": scored["defendants"]}


def evaluate_folder(folder: str | Path) -> dict[str, Any]:
    """Score a linked folder's DIR/linking/ against its truth, and write the scores into its evaluation.json beside
    the run's figures (replacing the file in one step); returns the whole evaluation."""
    folder = Path(folder)
    cfg = load_config()
    out = folder / cfg["output"]["folder"]
    path = out / cfg["output"]["evaluation"]
    run: dict[str, Any] = {}
    if path.is_file():
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataFirstError(f"{path} is damaged: not valid JSON ({str(exc).splitlines()[0]})") from None
        if not isinstance(run, dict):
            raise DataFirstError(f"{path} is damaged: not an evaluation")
    run = {key: value for key, value in run.items() if key not in METRICS}
    evaluation = run | evaluate_outputs(folder, out, cfg)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        partial.write_text(json.dumps(evaluation, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise DataFirstError(f"cannot write {path}: {exc.strerror or exc}") from None
    return evaluation


def summary(evaluation: dict[str, Any]) -> str:
    """The evaluation as a few lines of text (what `sdfirst link` prints)."""
    lines = []
    if "records" in evaluation:  # the run's figures (`sdfirst evaluate` on an output without them has none)
        on = f" on {evaluation['engine']}" if "engine" in evaluation else ""
        lines.append(
            f"linked {evaluation['records']:,} person records{on} in {evaluation['seconds']:.1f} s "
            f"({evaluation['records_per_second']:,} records/s; {evaluation['scored_pairs']:,} pairs scored)"
        )
    if "xjs" not in evaluation:  # a folder without the truth, or --no-evaluate: nothing scored
        return "\n".join(lines)
    x, ids = evaluation["xjs"], evaluation["person_ids"]
    lines += [
        f"estimated_xjs_id at match probability {evaluation.get('threshold', 'chosen')}: {x['clusters']:,} clusters "
        f"for {x['people']:,} true people",
        f"  pairwise precision {x['pairwise_precision']:.4f}  recall {x['pairwise_recall']:.4f}  "
        f"F1 {x['pairwise_f1']:.4f}",
        f"  B-cubed precision {x['b3_precision']:.4f}  recall {x['b3_recall']:.4f}; "
        f"people found exactly {x['exact_person_share']:.2%}",
    ]
    cjs = evaluation.get("cjs")
    if cjs and cjs["records"]:
        lines.append(
            f"estimated_mc_cc_ps_dp (the criminal records only): {cjs['clusters']:,} clusters for "
            f"{cjs['people']:,} true people, pairwise F1 {cjs['pairwise_f1']:.4f}, B-cubed F1 {cjs['b3_f1']:.4f}"
        )
    for name, level in evaluation["levels"].items():
        lines.append(
            f"  {name} (>= {level['threshold']}): pairwise F1 {level['pairwise_f1']:.4f}, "
            f"B-cubed F1 {level['b3_f1']:.4f}"
        )
    lines.append(
        f"estimated_person_id (within each dataset): pairwise F1 {ids['pairwise_f1']:.4f}, "
        f"B-cubed F1 {ids['b3_f1']:.4f}, people found exactly {ids['exact_person_share']:.2%}"
    )
    if "case_journey" in evaluation:
        cj = evaluation["case_journey"]
        lines.append(
            f"mags_crown_journey at estimated_match_score {cj['threshold']}: {cj['predicted']:,} case links, "
            f"precision {cj['precision']:.4f}, recall {cj['recall']:.4f} ({cj['found']:,} of {cj['true']:,} true); "
            f"defendants: precision {cj['defendants']['precision']:.4f}, recall {cj['defendants']['recall']:.4f}"
        )
    return "\n".join(lines)
