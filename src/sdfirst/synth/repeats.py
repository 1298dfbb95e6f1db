"""Rows a release holds twice: the same record written again under a new `row_id_hash`.

The real probation flat file repeats some events, and the research code that ran on it drops the repeated
`event_id_hash` before anything else. A synthetic release without repeats would let code that forgets that step run
as if it were right. The rates are in `recording_errors.yaml` (`repeated_rows`), per table.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sdfirst.exceptions import DataFirstError
from sdfirst.specs import datasets, load_yaml
from sdfirst.synth.columns import Deferred
from sdfirst.synth.tables import Built


def repeat_rate(key: str) -> float:
    """The share of a table's rows that the release holds twice (0 for a table the file does not name); a name that
    is no table with a row_id_hash is refused, rather than repeating nothing in silence."""
    rates = load_yaml("recording_errors.yaml").get("repeated_rows", {})
    for name in rates:
        dataset, _, table = name.partition(".")
        spec = datasets().get(dataset)
        if spec is None or table not in spec.tables or "row_id_hash" not in spec.tables[table].column_names:
            raise DataFirstError(f"recording_errors.yaml: repeated_rows names {name}, which is no dataset.table")
    return float(rates.get(key, 0.0))


def with_repeats(world, key: str, part: Built) -> Built:
    """The table with a share of its rows written twice: each copy follows the rows, identical but for its own
    `row_id_hash` (it is another row of the release, of the same person, so the truth maps it too)."""
    rate = repeat_rate(key)
    if rate == 0 or len(part.person) == 0:
        return part
    again = np.flatnonzero(world.rng(f"repeated:{key}").random(len(part.person)) < rate)
    if len(again) == 0:
        return part
    grown = part.rows(np.concatenate([np.arange(len(part.person)), again]))
    row_ids = part.columns["row_id_hash"]
    row_ids = row_ids.made() if isinstance(row_ids, Deferred) else pa.array(row_ids, pa.string())
    grown.columns["row_id_hash"] = pa.concat_arrays([row_ids, world.ids(f"{key}.repeated", len(again))])
    return grown
