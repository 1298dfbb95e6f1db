"""Which datasets each estimated person appears in, from a linking table such as `xjs_link`.

A linking table has a row per record: the dataset it came from and the estimated person it was put with. Counting
the distinct datasets of each person, and the most common combinations, is the first thing to do with such a table:
it says how many people a study that needs, say, both court and probation records can have.
"""

from __future__ import annotations

import duckdb
import pandas as pd


def dataset_combinations(
    con: duckdb.DuckDBPyConnection,
    table: str = "linking.xjs_link",
    person: str = "estimated_xjs_id",
    dataset: str = "source_dataset",
) -> pd.DataFrame:
    """People per combination of datasets: combination (names sorted, joined by ' + '), datasets, people, records.

    One row per combination that occurs, most people first (ties by combination), so the output is stable.
    """
    return con.execute(f"""
        WITH per_person AS (
            SELECT {person} AS person,
                   string_agg(DISTINCT {dataset}, ' + ' ORDER BY {dataset}) AS combination,
                   count(DISTINCT {dataset}) AS datasets,
                   count(*) AS records
            FROM {table}
            GROUP BY {person})
        SELECT combination, any_value(datasets)::INTEGER AS datasets, count(*)::INTEGER AS people,
               sum(records)::INTEGER AS records
        FROM per_person
        GROUP BY combination
        ORDER BY people DESC, combination""").df()


def people_by_number_of_datasets(combinations: pd.DataFrame) -> pd.Series:
    """People by the number of distinct datasets they appear in (1, 2, ...), from `dataset_combinations`."""
    counts = combinations.groupby("datasets")["people"].sum().sort_index()
    counts.index.name = "datasets"
    return counts
