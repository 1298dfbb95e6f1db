{%- set example = acro_example(chosen_datasets(cookiecutter.datasets)) -%}
"""The project's first analysis: what the data hold, and the frames behind the example tables and model.

Start here and replace the example with the project's own questions; keep functions small, with tests in tests/.
"""

from __future__ import annotations

import duckdb
import pandas as pd

# The example table and model, chosen from the specs of the datasets this project uses.
CROSSTAB = {"table": "{{ example.crosstab_table }}", "rows": "{{ example.rows }}", "columns": "{{ example.columns }}"}
MODEL = {"table": "{{ example.model_table }}", "outcome": "{{ example.outcome }}", "predictor": "{{ example.predictor }}"}


def table_sizes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows and columns of every table the connection can see, in name order: the first check on any extract."""
    views = con.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal ORDER BY schema_name, view_name"
    ).fetchall()
    rows = []
    for schema, view in views:
        count = con.execute(f'SELECT count(*) FROM "{schema}"."{view}"').fetchone()[0]
        width = len(con.execute(f'SELECT * FROM "{schema}"."{view}" LIMIT 0').description)
        rows.append({"dataset": schema, "table": view, "rows": count, "columns": width})
    return pd.DataFrame(rows, columns=["dataset", "table", "rows", "columns"])


def _select(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> pd.DataFrame:
    """The named columns of one table, rows with any of them missing left out, in a stable order."""
    schema, name = table.split(".", 1)
    cols = ", ".join(f'"{c}"' for c in columns)
    present = " AND ".join(f'"{c}" IS NOT NULL' for c in columns)
    sql = f'SELECT {cols} FROM "{schema}"."{name}" WHERE {present} ORDER BY {cols}'
    return con.execute(sql).df()


def crosstab_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The two columns of the example table (records, not people: one person may appear on several rows)."""
    return _select(con, CROSSTAB["table"], [CROSSTAB["rows"], CROSSTAB["columns"]])


def model_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The outcome and predictor of the example model, ready for a regression."""
    return _select(con, MODEL["table"], [MODEL["outcome"], MODEL["predictor"]])


def design(frame: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """(outcome, design matrix) for the example model: a constant and one indicator per level but the first."""
    outcome = frame[MODEL["outcome"]].astype(float)
    dummies = pd.get_dummies(frame[MODEL["predictor"]], prefix=MODEL["predictor"], drop_first=True, dtype=float)
    dummies.insert(0, "const", 1.0)
    return outcome, dummies
