"""Check that an extract folder has the tables, columns and types that the specs in `synthetic/` describe.

A project is built on synthetic data and then run, unchanged, on the real extract inside a secure environment. Before
the first run there, this check says in plain words where the extract differs from what the code expects: a missing
table, a missing or extra column, a column of another type. It reads only Parquet footers (the schema), never rows.

The folder layout is the generator's, which is the release's where the release's file names are known: a table whose
spec names its files (`files:`) is looked for under those names in `DIR/<dataset>/` (probation's
`moj_probation_flatfile_01` .. `_30`; the MoJ-DfE share's delimited text files); any other table as
`DIR/<dataset>/<table>/*.parquet` (one or more files) or `DIR/<dataset>/<table>.parquet`. Folders of datasets that were
not asked for (such as the generator's `truth/` and `identified/`) are ignored. Identifier columns (names, dates of
birth, postcodes) are not expected: no release has them. Delimited text carries no types, so only its columns are
checked.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sdfirst.exceptions import DataFirstError
from sdfirst.specs import TableSpec, datasets, named_datasets, year_of

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
    kind: str  # "missing table", "missing file", "unreadable table", "missing column", "extra column", "wrong type",
    # "extra table", "extra file"
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


def is_release_file(spec: TableSpec, name: str) -> bool:
    """Whether a file name is one of a table's release files (never, for a table whose release names are not known)."""
    return spec.files is not None and fnmatch.fnmatchcase(name, spec.files.glob)


def table_files(folder: Path, spec: TableSpec) -> list[Path]:
    """The files holding one table: its release files where the spec names them, else its Parquet files in either of
    the two accepted layouts."""
    if spec.files is not None:
        base = folder / spec.dataset
        found = base.iterdir() if base.is_dir() else []
        return sorted(p for p in found if p.is_file() and is_release_file(spec, p.name))
    single = folder / spec.dataset / f"{spec.name}.parquet"
    if single.is_file():
        return [single]
    return sorted((folder / spec.dataset / spec.name).glob("*.parquet"))


def _where(spec: TableSpec) -> str:
    """Where a table is looked for, for the message that it is missing."""
    if spec.files is None:
        return f"{spec.dataset}/{spec.name}/*.parquet or {spec.dataset}/{spec.name}.parquet"
    if spec.files.parts is not None:
        first, last = (spec.files.name.format(part=i) for i in (1, spec.files.parts))
        return f"{spec.dataset}/{first} .. {last}"
    return f"{spec.dataset}/{spec.files.name.format(year='YYYY')}"


def missing_parts(spec: TableSpec, files: list[Path]) -> list[Difference]:
    """The numbered release files of a table that are not there (code that reads all thirty would fail)."""
    if spec.files is None or spec.files.parts is None:
        return []
    names = {p.name for p in files}
    expected = [spec.files.name.format(part=i + 1) for i in range(spec.files.parts)]
    return [Difference(spec.key, "missing file", name) for name in expected if name not in names]


def read_columns(path: Path, spec: TableSpec) -> pa.Schema:
    """A file's columns and types: a Parquet footer, or a text file's header (every column then read as text)."""
    if spec.files is not None and spec.files.format == "csv":
        with pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16)) as reader:
            return reader.schema
    return pq.read_schema(path)


def type_matches(spec_type: str, found: pa.DataType) -> bool:
    """Whether an Arrow type found in a file is acceptable for a column the spec gives as `spec_type`."""
    if pa.types.is_dictionary(found):  # a categorical column: judge by its values
        found = found.value_type
    return any(test(found) for test in _ACCEPTS[spec_type])


def compare_schema(
    spec: TableSpec, schema: pa.Schema, typed: bool = True, suffix: str = "", year: int | None = None
) -> list[Difference]:
    """Differences between the columns one of a table's files should have (`TableSpec.file_columns`: its spec's,
    identifiers aside, and in a table split by year those of the file's `year`) and the file's schema: columns, then
    types (unless the file is text, which has none). `suffix` ends every column's name in a file
    whose names carry its year (the NPD's `gender_spr13`)."""
    expected = {f"{c.name}{suffix}": c for c in spec.file_columns(year)}
    found = {f.name: f.type for f in schema}
    out = [Difference(spec.key, "missing column", name) for name in expected if name not in found]
    out += [Difference(spec.key, "extra column", f"{name} ({found[name]})") for name in found if name not in expected]
    for name, column in expected.items():
        if typed and name in found and not type_matches(column.type, found[name]):
            out.append(Difference(spec.key, "wrong type", f"{name} should be {column.type}, found {found[name]}"))
    return out


def check_table(folder: Path, spec: TableSpec) -> list[Difference]:
    """Differences for one table; every file of a table is checked, as a chunked release can drift between chunks."""
    files = table_files(folder, spec)
    if not files:
        return [Difference(spec.key, "missing table", f"no {_where(spec)} in {folder}")]
    seen = missing_parts(spec, files)
    typed = spec.files is None or spec.files.format != "csv"
    for path in files:
        try:
            schema = read_columns(path, spec)
        except (OSError, pa.ArrowInvalid) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            seen.append(Difference(spec.key, "unreadable table", f"{path.name}: {reason}"))
            continue
        year = year_of(path.name) if spec.files is not None and spec.files.by is not None else None
        suffix = spec.files.suffix(year) if year is not None else ""
        for diff in compare_schema(spec, schema, typed, suffix, year):
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
        stray = [p.name for p in base.iterdir() if p.is_file() and p.suffix != ".parquet"]
        stray = sorted(n for n in stray if not any(is_release_file(t, n) for t in specs[name].tables.values()))
        out += [Difference(f"{name}.{n}", "extra file", "not a file of the release in the specs") for n in stray]
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
    columns = sum(1 for t in tables for c in t.columns if not c.identifier)
    scope = f"{len(tables)} tables and {columns} columns of {', '.join(chosen)}"
    if not diffs:
        return f"schema OK: {folder} has the {scope}", True
    lines = [str(d) for d in diffs]
    noun = "difference" if len(diffs) == 1 else "differences"
    lines.append(f"schema differs: {len(diffs)} {noun} from the {scope}")
    return "\n".join(lines), False
