"""The linkage settings, read from synthetic/linkage.yaml and checked once."""

from __future__ import annotations

import copy
from typing import Any

from sdfirst.exceptions import DataFirstError
from sdfirst.linkage.cases import check_journey
from sdfirst.linkage.stages import check_stages
from sdfirst.specs import load_yaml

CONFIG_FILE = "linkage.yaml"
COMMON_COLUMNS = ("unique_id", "forename", "surname", "date_of_birth", "sex", "postcode")


def load_config() -> dict[str, Any]:
    """A fresh copy of the linkage settings (callers may change it, e.g. the threshold)."""
    cfg = copy.deepcopy(load_yaml(CONFIG_FILE))
    for source in cfg["sources"]:
        missing = set(COMMON_COLUMNS) - set(source["columns"])
        if missing:
            raise DataFirstError(f"{CONFIG_FILE}: source {source['source_dataset']} does not map {sorted(missing)}")
    chosen = cfg["thresholds"]["chosen"]
    if not 0 < chosen < 1:
        raise DataFirstError(f"{CONFIG_FILE}: the chosen threshold {chosen} is not between 0 and 1")
    check_stages(cfg, CONFIG_FILE)
    check_journey(cfg, CONFIG_FILE)
    return cfg


def source_tables() -> dict[str, str]:
    """The table each linked source reads, `dataset.table`, by its source code (`source_dataset`)."""
    return {s["source_dataset"]: f"{s['dataset']}.{s['table']}" for s in load_yaml(CONFIG_FILE)["sources"]}


def check_threshold(value: float) -> float:
    """A match probability strictly between 0 and 1, or a one-line error."""
    if not 0 < value < 1:
        raise DataFirstError(f"threshold must be a match probability strictly between 0 and 1, not {value}")
    return float(value)
