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
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import duckdb


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


def summary(evaluation: dict[str, Any]) -> str:
    """The evaluation as a few lines of text (what `sdfirst link` prints)."""
    lines = [
        f"linked {evaluation['records']:,} person records in {evaluation['seconds']:.1f} s "
        f"({evaluation['records_per_second']:,} records/s; {evaluation['scored_pairs']:,} pairs scored)"
    ]
    if "xjs" not in evaluation:  # a folder without the truth: nothing to score against
        return lines[0]
    x, ids = evaluation["xjs"], evaluation["person_ids"]
    lines += [
        f"estimated_xjs_id at match probability {evaluation['threshold']}: {x['clusters']:,} clusters "
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
