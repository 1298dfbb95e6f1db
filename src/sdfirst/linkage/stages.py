"""MoJ's two linkage stages from one model's pairs: criminal justice (cjs) and cross-justice (xjs).

MoJ links the criminal datasets first (the cjs stage, released as `estimated_mc_cc_ps_dp`) and then adds the family
and civil courts (the xjs stage, `estimated_xjs_id`). Here one Splink model scores every blocked pair once; the cjs
id is the connected components of the pairs whose two records both come from a cjs source (linkage.yaml's
`stages.cjs.sources`), and the xjs id the components of all pairs. A cjs pair is an xjs pair, so every cjs cluster
lies inside one xjs cluster; the xjs stage only joins cjs clusters, through records of the other sources.

The SQL is DuckDB's dialect without DuckDB-only forms, built by small functions and run through the pipeline's Engine
(`linkage.engine`: DuckDB, or Spark after translation by sqlglot), whose Splink database API clusters the pairs.
"""

from __future__ import annotations

from typing import Any

from splink.clustering import cluster_pairwise_predictions_at_threshold

from sdfirst.exceptions import DataFirstError
from sdfirst.linkage.engine import Engine

CJS = "cjs"
XJS = "xjs"


def stage_id(cfg: dict[str, Any], stage: str) -> str:
    """The output column of a stage's person id (linkage.yaml `stages`)."""
    return cfg["stages"][stage]["id"]


def cjs_sources(cfg: dict[str, Any]) -> list[str]:
    """The `source_dataset` codes of the cjs stage, in linkage.yaml's order."""
    return list(cfg["stages"][CJS]["sources"])


def check_stages(cfg: dict[str, Any], file: str) -> None:
    """A one-line error when the cjs stage names a source that linkage.yaml does not configure (a typo)."""
    known = {s["source_dataset"] for s in cfg["sources"]}
    unknown = [code for code in cjs_sources(cfg) if code not in known]
    if unknown:
        raise DataFirstError(f"{file}: stages.cjs.sources names {unknown}, which are not among the sources")
    if len({stage_id(cfg, CJS), stage_id(cfg, XJS)}) != 2:
        raise DataFirstError(f"{file}: the cjs and xjs stages must have different ids")


def _quoted(codes: list[str]) -> str:
    return ", ".join("'" + code.replace("'", "''") + "'" for code in codes)


def stage_nodes_sql(persons: str, codes: list[str]) -> str:
    """The person records of the stage's sources."""
    return f"SELECT * FROM {persons} WHERE source_dataset IN ({_quoted(codes)})"


def stage_edges_sql(predictions: str, persons: str, codes: list[str]) -> str:
    """The scored pairs whose two records both belong to the stage."""
    return f"""
        SELECT e.unique_id_l, e.unique_id_r, e.match_probability
        FROM {predictions} e
        JOIN {persons} a ON a.unique_id = e.unique_id_l
        JOIN {persons} b ON b.unique_id = e.unique_id_r
        WHERE a.source_dataset IN ({_quoted(codes)}) AND b.source_dataset IN ({_quoted(codes)})"""


def cluster_cjs(
    engine: Engine, cfg: dict[str, Any], predictions: str, persons: str, threshold: float, out_table: str
) -> int:
    """Create `out_table` (unique_id, cluster_id): the cjs clusters at `threshold`; returns its rows.

    `predictions` is the table of the model's scored pairs on `engine`; Splink's public connected components run on
    the engine's database API.
    """
    codes = cjs_sources(cfg)
    nodes, edges = f"{out_table}_nodes", f"{out_table}_edges"
    engine.run(nodes, stage_nodes_sql(persons, codes))
    engine.run(edges, stage_edges_sql(predictions, persons, codes))
    clusters = cluster_pairwise_predictions_at_threshold(
        engine.register(nodes, nodes),
        engine.register(edges, edges),
        db_api=engine.db_api,
        node_id_column_name="unique_id",
        threshold_match_probability=threshold,
    )
    engine.run(out_table, f"SELECT unique_id, cluster_id FROM {clusters.physical_name}")
    return engine.fetch(f"SELECT count(*) FROM {out_table}")[0][0]


def split_cjs_clusters_sql(xjs_table: str, cfg: dict[str, Any]) -> str:
    """The cjs clusters whose records fall in more than one xjs cluster (none, by construction: a check)."""
    cjs, xjs = stage_id(cfg, CJS), stage_id(cfg, XJS)
    return f"""
        SELECT {cjs} FROM {xjs_table} WHERE {cjs} IS NOT NULL
        GROUP BY {cjs} HAVING count(DISTINCT {xjs}) > 1"""


def stage_relation(engine: Engine, xjs_table: str, cfg: dict[str, Any]) -> dict[str, int]:
    """How the two stages' clusters relate: cjs clusters, the xjs clusters holding them, cjs clusters split by xjs
    (zero by construction) and xjs clusters that join two or more cjs clusters."""
    cjs, xjs = stage_id(cfg, CJS), stage_id(cfg, XJS)
    (split,) = engine.fetch(f"SELECT count(*) FROM ({split_cjs_clusters_sql(xjs_table, cfg)}) s")[0]
    clusters, holding, joining = engine.fetch(f"""
        WITH per_xjs AS (
            SELECT {xjs}, count(DISTINCT {cjs}) AS cjs_clusters
            FROM {xjs_table} WHERE {cjs} IS NOT NULL GROUP BY {xjs})
        SELECT sum(cjs_clusters), count(*), sum(CASE WHEN cjs_clusters > 1 THEN 1 ELSE 0 END) FROM per_xjs""")[0]
    return {
        "cjs_clusters": int(clusters or 0),
        "xjs_clusters_with_cjs_records": int(holding or 0),
        "cjs_clusters_split_by_xjs": int(split),
        "xjs_clusters_joining_cjs_clusters": int(joining or 0),
    }
