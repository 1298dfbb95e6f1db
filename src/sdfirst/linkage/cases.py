"""The magistrates' to Crown Court case journey (`mags_crown_journey`), from the estimated person ids.

A magistrates' case is linked to a Crown Court case when a defendant record of each has the same estimated person
(estimated_xjs_id), the same principal offence code and offence date, and the Crown Court received the case on or
after the magistrates' first hearing. Columns are named in linkage.yaml (`cases`).
"""

from __future__ import annotations

from typing import Any

import duckdb

from sdfirst.linkage.engine import Engine, as_engine


def journey_sql(cfg: dict[str, Any], xjs_table: str) -> str:
    """SELECT mags_case_id_hash, crown_case_id_hash (distinct) given a table of (row_id_hash, estimated_xjs_id)."""
    m, c = cfg["cases"]["mags"], cfg["cases"]["crown"]
    return f"""
        SELECT DISTINCT m."{m["case_id"]}" AS mags_case_id_hash, c."{c["case_id"]}" AS crown_case_id_hash
        FROM "{m["dataset"]}"."{m["table"]}" m
        JOIN {xjs_table} xm ON xm.row_id_hash = m.row_id_hash
        JOIN {xjs_table} xc ON xc.estimated_xjs_id = xm.estimated_xjs_id
        JOIN "{c["dataset"]}"."{c["table"]}" c ON c.row_id_hash = xc.row_id_hash
        WHERE m."{m["offence_code"]}" = c."{c["offence_code"]}"
          AND m."{m["offence_date"]}" = c."{c["offence_date"]}"
          AND c."{c["date"]}" >= m."{m["date"]}"
        ORDER BY mags_case_id_hash, crown_case_id_hash"""


def build_journey(con: duckdb.DuckDBPyConnection | Engine, cfg: dict[str, Any], xjs_table: str, out_table: str) -> int:
    """Create `out_table` holding the case journey; returns its rows.

    Only called when the folder holds both court datasets: the pipeline's plan (`linkage.pipeline.plan`) leaves the
    journey out, and says so, for a folder generated without them.
    """
    engine = as_engine(con)  # a DuckDB connection or the pipeline's engine (DuckDB or Spark)
    engine.run(out_table, journey_sql(cfg, xjs_table))
    return engine.fetch(f"SELECT count(*) FROM {out_table}")[0][0]
