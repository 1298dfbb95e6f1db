"""Count the comparisons a blocking rule generates, exactly, without listing a single pair.

A blocking rule of the kind `block_on("surname", "date_of_birth")` pairs two records when every key is equal and
not null. Records that share all keys form a block, and a block of n records gives n(n - 1)/2 pairs, so a GROUP BY
gives the exact count of a rule however many pairs it makes (as in Splink's `count_comparisons_from_blocking_rules`
with `record_sample_proportion=1.0`, rule by rule, for `dedupe_only`). Counting them at several sample sizes shows
how the cost of linkage grows with the data.

Samples are drawn by a hash of a column, so they are the same on every machine and run, and nested: the 10% sample
is inside the 25% sample. Sampling by record id (`unique_id`) keeps each record with the same chance; sampling by
an estimated person id keeps or drops all of a person's records together, which is closer to a smaller population.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import pandas as pd

from sdfirst.exceptions import DataFirstError


def hash_fraction_sql(column: str) -> str:
    """SQL for a number in [0, 1) taken from the md5 of `column`: fixed for a value on every machine and run."""
    return f"(('0x' || substr(md5(CAST({column} AS VARCHAR)), 1, 8))::BIGINT / 4294967296.0)"


def all_pairs(n: int) -> int:
    """n(n - 1)/2: the pairs a linkage without blocking would have to score (each unordered pair once)."""
    return n * (n - 1) // 2


def rule_pairs_sql(table: str, keys: Sequence[str]) -> str:
    """SQL for the exact number of pairs of `table` that agree on every key (none of them null)."""
    if not keys:
        raise DataFirstError("a blocking rule needs at least one key")
    group = ", ".join(keys)
    not_null = " AND ".join(f"({key}) IS NOT NULL" for key in keys)
    return f"""
        SELECT coalesce(sum(n * (n - 1) // 2), 0)::BIGINT
        FROM (SELECT count(*)::BIGINT AS n FROM {table} WHERE {not_null} GROUP BY {group})"""


def comparisons_by_sample(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rules: Mapping[str, Sequence[str]],
    fractions: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
    sample_by: str = "unique_id",
) -> pd.DataFrame:
    """Pairs made by each blocking rule, and all pairs, in nested hash samples of `table`.

    `rules` maps a label to the keys of a rule (columns or SQL expressions of a column, as in `block_on`).
    Returns one row per fraction and rule: fraction, records, all_pairs, rule, pairs, share (pairs / all_pairs).
    """
    for fraction in fractions:
        if not 0 < fraction <= 1:
            raise DataFirstError(f"a sample fraction must be in (0, 1], not {fraction}")
    # each record's place in the samples, worked out once rather than for every rule and fraction
    hashed = "_comparisons_by_sample"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {hashed} AS "
        f"SELECT *, {hash_fraction_sql(sample_by)} AS _sample_fraction FROM {table}"
    )
    rows = []
    try:
        for fraction in fractions:
            sample = f"(SELECT * FROM {hashed} WHERE _sample_fraction < {float(fraction)!r})"
            records = con.execute(f"SELECT count(*) FROM {sample}").fetchall()[0][0]
            total = all_pairs(records)
            for label, keys in rules.items():
                pairs = con.execute(rule_pairs_sql(sample, keys)).fetchall()[0][0]
                rows.append(
                    {
                        "fraction": fraction,
                        "records": records,
                        "all_pairs": total,
                        "rule": label,
                        "pairs": pairs,
                        "share": pairs / total if total else 0.0,
                    }
                )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {hashed}")
    return pd.DataFrame(rows)
