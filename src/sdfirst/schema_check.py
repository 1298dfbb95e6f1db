"""Check that an extract folder has the tables, columns and types that the specs in `synthetic/` describe.

A project is built on synthetic data and then run, unchanged, on the real extract inside a secure environment. Before
the first run there, this check says in plain words where the extract differs from what the code expects: a missing
table, a missing or extra column, a column of another type. It reads only Parquet footers (the schema), never rows.

The folder layout is the generator's: `DIR/<dataset>/<table>/*.parquet` (one or more files) or
`DIR/<dataset>/<table>.parquet`. Folders of datasets that were not asked for (such as the generator's `truth/`)
are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sdfirst.exceptions import DataFirstError
from sdfirst.specs import TableSpec, datasets, named_datasets

# The spec's type names and the Arrow types that count as that type. Integer and float widths do not matter to the
# analysis code (DuckDB and pandas read them alike), so any width is accepted; a date stored as text is not.
_ACCEPTS = {
    "string": (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view),
    "int": (pa.types.is_integer,),
    "float": (pa.types.is_floating, pa.types.is_decimal),
    "date": (pa.types.is_date,),
    "bool": (pa.types.is_boolean,),
}


@dataclass(frozen=True)
class Difference:
    """One way in which the extract differs from the specs; `str()` is the line shown to the researcher."""

    table: str  # dataset.table
    kind: str  # "missing table", "unreadable table", "missing column", "extra column", "wrong type", "extra table"
    detail: str

    def __str__(self) -> str:
        return f"{self.table}: {self.kind}: {self.detail}"


def choose_datasets(names: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """The named datasets in spec order ("all" or None: every dataset a researcher can request, so not the truth)."""
    known = [name for name, spec in datasets().items() if not spec.always]
    return named_datasets(names, known)


def expected_tables(names: list[str]) -> list[TableSpec]:
    """Every table the chosen datasets should contain, in spec order."""
    specs = datasets()
    return [table for name in names for table in specs[name].tables.values()]


def table_files(folder: Path, dataset: str, table: str) -> list[Path]:
    """The Parquet files holding one table, in either of the two accepted layouts."""
    single = folder / dataset / f"{table}.parquet"
    if single.is_file():
        return [single]
    return sorted((folder / dataset / table).glob("*.parquet"))


def type_matches(spec_type: str, found: pa.DataType) -> bool:
    """Whether an Arrow type found in a file is acceptable for a column the spec gives as `spec_type`."""
    if pa.types.is_dictionary(found):  # a categorical column: judge by its values
        found = found.value_type
    return any(test(found) for test in _ACCEPTS[spec_type])


def compare_schema(spec: TableSpec, schema: pa.Schema) -> list[Difference]:
    """Differences between one table's spec and the schema of one of its files: columns, then types."""
    expected = {c.name: c for c in spec.columns}
    found = {f.name: f.type for f in schema}
    out = [Difference(spec.key, "missing column", name) for name in expected if name not in found]
    out += [Difference(spec.key, "extra column", f"{name} ({found[name]})") for name in found if name not in expected]
    for name, column in expected.items():
        if name in found and not type_matches(column.type, found[name]):
            out.append(Difference(spec.key, "wrong type", f"{name} should be {column.type}, found {found[name]}"))
    return out


def check_table(folder: Path, spec: TableSpec) -> list[Difference]:
    """Differences for one table; every file of a table is checked, as a chunked release can drift between chunks."""
    files = table_files(folder, spec.dataset, spec.name)
    if not files:
        where = f"{spec.dataset}/{spec.name}/*.parquet or {spec.dataset}/{spec.name}.parquet"
        return [Difference(spec.key, "missing table", f"no {where} in {folder}")]
    seen: list[Difference] = []
    for path in files:
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowInvalid) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            seen.append(Difference(spec.key, "unreadable table", f"{path.name}: {reason}"))
            continue
        for diff in compare_schema(spec, schema):
            if len(files) > 1:
                diff = Difference(diff.table, diff.kind, f"{diff.detail} (in {path.name})")
            seen.append(diff)
    return seen


def extra_tables(folder: Path, names: list[str]) -> list[Difference]:
    """Tables present in a chosen dataset's folder that its spec does not describe (a renamed table shows up here)."""
    out = []
    specs = datasets()
    for name in names:
        base = folder / name
        if not base.is_dir():
            continue
        files = {p.stem for p in base.glob("*.parquet")}
        folders = {p.name for p in base.iterdir() if p.is_dir() and any(p.glob("*.parquet"))}
        unknown = sorted((files | folders) - set(specs[name].tables))
        out += [Difference(f"{name}.{t}", "extra table", "not in the specs") for t in unknown]
    return out


def check_folder(folder: str | Path, names: str | list[str] | tuple[str, ...] | None = "all") -> list[Difference]:
    """Every difference between an extract folder and the specs of the chosen datasets (empty when they agree)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFirstError(f"{folder} is not a folder")
    chosen = choose_datasets(names)
    found: list[Difference] = []
    for spec in expected_tables(chosen):
        found += check_table(folder, spec)
    return found + extra_tables(folder, chosen)


def report(folder: str | Path, names: str | list[str] | tuple[str, ...] | None = "all") -> tuple[str, bool]:
    """(text to print, whether the folder matches): one line per difference, then a one-line verdict."""
    chosen = choose_datasets(names)
    diffs = check_folder(folder, chosen)
    tables = expected_tables(chosen)
    columns = sum(len(t.columns) for t in tables)
    scope = f"{len(tables)} tables and {columns} columns of {', '.join(chosen)}"
    if not diffs:
        return f"schema OK: {folder} has the {scope}", True
    lines = [str(d) for d in diffs]
    noun = "difference" if len(diffs) == 1 else "differences"
    lines.append(f"schema differs: {len(diffs)} {noun} from the {scope}")
    return "\n".join(lines), False
