"""Standard errors for the calibration figures, from one generated folder, by the random groups method.

A calibration figure computed on a synthetic population varies with the seed: how much says whether a miss of the
published value is a fault of the generator or chance. Generating many populations of a million people to find out
is slow, so the people of one folder are split instead into ``groups`` interleaved sub-populations (person ``i``
into group ``i % groups``), every figure is computed on each group alone, and the standard error of the figure on
the whole folder is the standard deviation of the group figures over the square root of ``groups``. People in the
simulation are drawn independently, so the groups are independent populations of the same kind; the estimate is
rough for figures that are not averages over people (the most common age is a whole number, and may not vary at all
between groups).

A group is a connection in which every table of the folder is a view holding only the group's rows: each dataset's
records through the ground truth (``truth.record_person``, or for the MoJ-DfE share's files, which have no row key,
the person ids of ``truth.key_person``), and the truth tables that name a person by their
``person_id``. Records of no person (family and civil cases, organisations that are parties) are in every group. The
metrics run on it unchanged.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sdfirst.calibration import Result, evaluate_connection
from sdfirst.database import read_manifest, read_sql
from sdfirst.exceptions import DataFirstError
from sdfirst.specs import table as table_spec

#: The truth table that maps every record (``row_id_hash``) of every dataset to its person.
RECORD_PERSON = ("truth", "record_person")
#: The truth table that maps every person id of the MoJ-DfE share to its person (for files with no row key).
KEY_PERSON = ("truth", "key_person")


@dataclass(frozen=True)
class Estimate:
    """A calibration figure on the whole folder, with its standard error: from ``groups`` random groups, or
    binomial (``groups`` None) for a share of people (:func:`sdfirst.calibration.noise.standard_errors`)."""

    result: Result
    standard_error: float
    groups: int | None
    method: str = "random groups"

    @property
    def within(self) -> bool:
        return self.result.within

    @property
    def method_short(self) -> str:
        """How the standard error was found, in a word and the number of groups: ``binomial``, ``clusters`` or
        ``groups/10``."""
        return self.method if self.groups is None else f"groups/{self.groups}"

    def too_noisy(self, multiple: float) -> bool:
        """Whether ``multiple`` standard errors exceed the tolerance (or the error is unknown): then a folder of
        this size can miss the published figure by chance even if the generator is right, and pass it even if
        the generator is wrong, so the comparison says nothing."""
        return math.isnan(self.standard_error) or multiple * self.standard_error > self.result.tolerance


def group_connection(folder: str | Path, groups: int, group: int) -> duckdb.DuckDBPyConnection:
    """A connection like ``sdfirst.connect(folder)`` holding only the people with ``person_id % groups == group``."""
    if not 0 <= group < groups:
        raise DataFirstError(f"group {group} is not between 0 and {groups - 1}")
    folder = Path(folder)
    manifest = read_manifest(folder)
    con = duckdb.connect()

    def parquet(dataset: str, table: str) -> str:
        return read_sql(folder, manifest["tables"][f"{dataset}.{table}"])

    con.execute(  # a record of no person (a case, an organisation that is a party) belongs to every group
        f"CREATE TEMP TABLE members AS SELECT * FROM {parquet(*RECORD_PERSON)} "
        f"WHERE person_id IS NULL OR person_id % {groups} = {group}"
    )
    for key, info in manifest["tables"].items():
        dataset, table = key.split(".", 1)
        columns = info["columns"]
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
        truth_key = table_spec(key).truth_key
        if (dataset, table) == RECORD_PERSON:
            rows = "SELECT * FROM members"
        elif truth_key is not None:
            rows = (
                f'SELECT * FROM {parquet(dataset, table)} WHERE "{truth_key.column}" IN (SELECT key_value '
                f"FROM {parquet(*KEY_PERSON)} WHERE key_name = '{truth_key.key}' AND person_id % {groups} = {group})"
            )
        elif "row_id_hash" in columns:
            rows = (
                f"SELECT * FROM {parquet(dataset, table)} WHERE row_id_hash IN (SELECT row_id_hash FROM members "
                f"WHERE dataset = '{dataset}' AND table_name = '{table}')"
            )
        elif "person_id" in columns:
            rows = f"SELECT * FROM {parquet(dataset, table)} WHERE person_id % {groups} = {group}"
        else:  # no record or person to follow (truth.case_journey): whole; no calibration metric reads it
            rows = f"SELECT * FROM {parquet(dataset, table)}"
        con.execute(f'CREATE VIEW "{dataset}"."{table}" AS {rows}')
    return con


def standard_error(values: list[float]) -> float:
    """The random groups standard error of a figure from its values on the groups (NaN if any is missing)."""
    if len(values) < 2 or any(math.isnan(v) for v in values):
        return math.nan
    return statistics.stdev(values) / math.sqrt(len(values))


def estimates(folder: str | Path, groups: int = 10) -> list[Estimate]:
    """Every calibration figure on ``folder`` with its standard error from ``groups`` groups of its people."""
    from sdfirst.database import connect

    if groups < 2:
        raise DataFirstError(f"standard errors need at least 2 groups, not {groups}")
    whole = evaluate_connection(connect(folder))
    by_group = [evaluate_connection(group_connection(folder, groups, g)) for g in range(groups)]
    return [
        Estimate(result, standard_error([results[i].synthetic for results in by_group]), groups)
        for i, result in enumerate(whole)
    ]
