{%- set example = acro_example(chosen_datasets(cookiecutter.datasets)) -%}
"""The project's first analysis: what the data hold, and a table and a model of people (not records).

In Data First one person can hold many records (a defendant on several cases, an offender with several events), so
a count of records can hide how few people stand behind it: a cell of 12 records may be 4 people, and the output
checkers' rules (at least 10 per cell) are about people. The starter analysis therefore gives every record the
person id of the linking table ({{ example.linking_table }}, `{{ example.person_id }}`), keeps one record per
person, and counts those. Start here and replace the example with the project's own questions; keep functions
small, with tests in tests/.
"""

from __future__ import annotations

import duckdb
import pandas as pd

# The example, chosen from the specs of the datasets this project uses: each person's first record of one table.
PEOPLE = {
    "table": "{{ example.table }}",
    "source_dataset": "{{ example.source_dataset }}",  # this table's code in the linking table
    "record_id": "{{ example.record_id }}",
    "linking_table": "{{ example.linking_table }}",
    "person_id": "{{ example.person_id }}",
    "first_by": {{ example.first_by | tojson if example.first_by else "None" }},  # the date that orders a person's records
}
CROSSTAB = {"rows": "{{ example.rows }}", "columns": "{{ example.columns }}"}
# The model explains the outcome by the levels of the table's rows{% if example.outcome_level %} (the outcome is 1 for
# "{{ example.outcome_level }}", else 0: a linear probability model){% endif %}.
MODEL = {
    "outcome": "{{ example.outcome }}",
    "outcome_level": {{ example.outcome_level | tojson if example.outcome_level else "None" }},
    "predictor": "{{ example.rows }}",
}


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


def _quoted(table: str) -> str:
    return ".".join(f'"{part}"' for part in table.split(".", 1))


def people_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per person: their first record of the example table, with the columns the table and model use.

    Records the linking table leaves without a person (not a person's record) drop out, and so do people with a
    value missing, so that every count below is of people with both values known.
    """
    columns = list(dict.fromkeys([CROSSTAB["rows"], CROSSTAB["columns"], MODEL["outcome"]]))
    chosen = ", ".join(f'r."{c}"' for c in columns)
    known = " AND ".join(f'r."{c}" IS NOT NULL' for c in columns)
    order = ", ".join(f'r."{c}"' for c in [PEOPLE["first_by"], PEOPLE["record_id"]] if c)
    sql = f"""
        SELECT k."{PEOPLE["person_id"]}" AS person, {chosen}
        FROM {_quoted(PEOPLE["table"])} AS r
        JOIN {_quoted(PEOPLE["linking_table"])} AS k
          ON k.row_id_hash = r."{PEOPLE["record_id"]}" AND k.source_dataset = ?
        QUALIFY row_number() OVER (PARTITION BY k."{PEOPLE["person_id"]}" ORDER BY {order}) = 1
    """
    frame = con.execute(f"SELECT * FROM ({sql}) AS r WHERE {known} ORDER BY person", [PEOPLE["source_dataset"]]).df()
    return frame.reset_index(drop=True)


def design(frame: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """(outcome, design matrix) for the example model: a constant and one indicator per level but the first."""
    outcome = frame[MODEL["outcome"]]
    outcome = (outcome == MODEL["outcome_level"]) if MODEL["outcome_level"] is not None else outcome
    predictor = frame[MODEL["predictor"]].astype(str)  # a yes/no column becomes two levels, "False" and "True"
    dummies = pd.get_dummies(predictor, prefix=MODEL["predictor"], drop_first=True, dtype=float)
    dummies.insert(0, "const", 1.0)
    return outcome.astype(float).rename(MODEL["outcome"]), dummies
