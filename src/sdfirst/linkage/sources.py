"""Read the person records of a generated folder into one standard table (the common schema of linkage.yaml).

The SQL is DuckDB's dialect, written once; the engine (`linkage.engine`) runs it on DuckDB or Spark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from sdfirst.database import made_by, read_manifest
from sdfirst.exceptions import DataFirstError
from sdfirst.linkage.engine import Engine, as_engine

PERSON_TABLE = "person_records"


def _name(column: str | None, min_length: int) -> str:
    """A cleaned name: lower case, without spaces, hyphens, apostrophes or dots; initials and blanks are missing."""
    if column is None:
        return "CAST(NULL AS VARCHAR)"
    cleaned = f"regexp_replace(lower(trim(\"{column}\")), '[^a-z]', '', 'g')"
    return f"CASE WHEN length({cleaned}) >= {int(min_length)} THEN {cleaned} END"


def _postcode(column: str | None) -> str:
    if column is None:
        return "CAST(NULL AS VARCHAR)"
    return f"nullif(upper(trim(regexp_replace(\"{column}\", '\\s+', ' ', 'g'))), '')"


def _sex(column: str | None) -> str:
    if column is None:
        return "CAST(NULL AS VARCHAR)"
    return f"CASE WHEN upper(\"{column}\") IN ('F', 'M') THEN upper(\"{column}\") END"


def _date(column: str | None) -> str:
    return "CAST(NULL AS DATE)" if column is None else f'TRY_CAST("{column}" AS DATE)'


def _person_key(source: dict[str, Any]) -> str:
    """The system's own person key and the system that issued it (`person_key` of the source, if it has one).

    Two records' keys are compared only when one system issued both (NOMIS issues the key of prison and OASys
    records alike); other pairs have no key to compare.
    """
    key = source.get("person_key")
    if key is None:
        return "CAST(NULL AS VARCHAR) AS person_key_system, CAST(NULL AS VARCHAR) AS person_key"
    system = key["system"].replace("'", "''")
    return f"""'{system}' AS person_key_system, CAST("{key["column"]}" AS VARCHAR) AS person_key"""


def source_sql(source: dict[str, Any], min_name_length: int) -> str:
    """SELECT of one source's person rows in the common schema."""
    cols = source["columns"]
    where = f"WHERE {source['where']}" if source.get("where") else ""
    code = source["source_dataset"].replace("'", "''")
    return f"""
        SELECT CAST("{cols["unique_id"]}" AS VARCHAR) AS unique_id,
               '{code}' AS source_dataset,
               {_name(cols["forename"], min_name_length)} AS forename,
               {_name(cols["surname"], min_name_length)} AS surname,
               {_date(cols["date_of_birth"])} AS date_of_birth,
               {_sex(cols["sex"])} AS sex,
               {_postcode(cols["postcode"])} AS postcode,
               {_person_key(source)}
        FROM "{source["dataset"]}"."{source["table"]}" {where}"""


def derived_sql(cfg: dict[str, Any]) -> str:
    """The derived columns of linkage.yaml (`cleaning.derived`: name -> SQL over the cleaned common columns), as
    `, expr AS name` items of a SELECT list; empty when there are none.

    They are computed once, after cleaning, so that the model can compare them (e.g. the full name, whose
    term frequencies are those of the pair of names together, not the product of the two).
    """
    derived = cfg["cleaning"].get("derived") or {}
    return "".join(f', {expr} AS "{name}"' for name, expr in derived.items())


def available_sources(folder: Path, cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """The configured sources whose table the folder holds (a folder may have been generated for some datasets)."""
    manifest = read_manifest(folder)
    found = [s for s in cfg["sources"] if f"{s['dataset']}.{s['table']}" in manifest["tables"]]
    if not found:
        wanted = sorted({s["dataset"] for s in cfg["sources"]})
        raise DataFirstError(
            f"{folder} holds none of the datasets linkage.yaml links ({', '.join(wanted)}): "
            f"it was made by `{made_by(manifest)}`"
        )
    return found


def _require_identifiers(engine: Engine, sources: list[dict[str, Any]]) -> None:
    """One line, not a binder error, when a source's table lacks the identifiers it is linked on."""
    for source in sources:
        wanted = [c for key, c in source["columns"].items() if key != "unique_id" and c is not None]
        have = set(engine.columns(f'"{source["dataset"]}"."{source["table"]}"'))
        if missing := [c for c in wanted if c not in have]:
            raise DataFirstError(
                f"{source['dataset']}.{source['table']} has no {', '.join(missing)}: the linkage reads the identified "
                'records, so open the folder with sdfirst.connect(folder, view="identified")'
            )


def load_person_records(
    con: duckdb.DuckDBPyConnection | Engine,
    sources: list[dict[str, Any]],
    cfg: dict[str, Any],
    table: str = PERSON_TABLE,
) -> int:
    """Create `table`: every person record of every source, sorted by unique_id; returns its rows.

    `con` is a DuckDB connection from `sdfirst.connect(folder, view="identified")` (as the book's chapters pass) or
    an Engine: the release view has no names to link on.
    """
    engine = as_engine(con)
    if isinstance(con, duckdb.DuckDBPyConnection):  # an engine opens a folder identified; a connection may not be
        _require_identifiers(engine, sources)
    min_length = cfg["cleaning"]["min_name_length"]
    union = "\nUNION ALL\n".join(source_sql(s, min_length) for s in sources)
    engine.run(table, f"SELECT *{derived_sql(cfg)} FROM ({union}) ORDER BY unique_id")
    ((rows, distinct),) = engine.fetch(f"SELECT count(*), count(DISTINCT unique_id) FROM {table}")
    if rows != distinct:
        raise DataFirstError(f"person record ids are not unique across the sources ({rows - distinct} repeated)")
    return rows
