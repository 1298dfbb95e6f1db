"""The data dictionary, rendered from the specs in `synthetic/datasets/`, and the recording errors' rates, from
`synthetic/recording_errors.yaml`: the book's pages and the template's checks read the same YAML as the generator,
so they cannot drift apart."""

from __future__ import annotations

from sdfirst.specs import ColumnSpec, DatasetSpec, TableSpec, datasets, load_yaml, table_spec
from sdfirst.synth.recording import applied_order, error_rates, recording_datasets

_PIPE = "\\|"


def table_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", _PIPE)


def provenance(column: ColumnSpec) -> str:
    """'confirmed (source)' or 'inferred': whether the real release uses this name."""
    if column.provenance == "confirmed":
        return f"confirmed ({table_cell(column.source or '')})"
    return "inferred"


def _codes(column: ColumnSpec) -> str:
    return ", ".join(f"`{code}`" for code in column.codes) if column.codes else ""


def table_provenance(table: TableSpec) -> str:
    """Whether the real release has this table, in one sentence for the dictionary."""
    if table.teaching:
        return "**Teaching table**: no real release has a table like it (see its description for why it is here)."
    if table.provenance == "confirmed":
        return f"Table name confirmed ({table_cell(table.source or '')})."
    seen = f" The release has such a table ({table_cell(table.source)})." if table.source else ""
    return f"Table name inferred.{seen}"


def release_files(table: TableSpec) -> str:
    """Where the release keeps a table's rows, in one sentence: its own file names where they are known."""
    files = table.files
    if files is None:
        return f"Files: `{table.dataset}/{table.name}/*.parquet` (the layout is this project's)."
    fmt = "delimited text with a header" if files.format == "csv" else "Parquet"
    if files.parts is not None:
        names = f"`{files.name.format(part=1)}` .. `{files.name.format(part=files.parts)}`"
    else:
        names = f"`{files.name.format(year='YYYY')}`, one per value of `{files.by}`"
        if files.year_suffix:
            names += " (in each, every column's name ends in the year's two digits: `_spr13`)"
    seen = f" ({table_cell(files.source)})" if files.source else ""
    return f"Files: {names} in `{table.dataset}/`, {fmt}, as the release names them{seen}."


def table_markdown(table: TableSpec, level: int = 3) -> str:
    """One table's section: what a row is and whether the release has it, then every column with type, meaning,
    codes and provenance."""
    lines = [
        f"{'#' * level} `{table.key}`",
        "",
        table_cell(table.description),
        "",
        table_provenance(table),
        "",
        release_files(table),
        "",
        "| column | type | description | codes | name |",
        "|---|---|---|---|---|",
    ]
    for column in table.columns:
        name = f"`{column.name}`" + (" (identifier, not released)" if column.identifier else "")
        lines.append(
            f"| {name} | {column.type} | {table_cell(column.description)} | {_codes(column)} | {provenance(column)} |"
        )
    return "\n".join(lines) + "\n"


def dataset_markdown(dataset: DatasetSpec, level: int = 2) -> str:
    start, end = dataset.coverage
    fall = dataset.fall_away
    thins = f", records thinning out from {fall.start} to {fall.kept_at_end:.0%} by the end" if fall else ""
    head = [
        f"{'#' * level} {dataset.title} (`{dataset.name}`)",
        "",
        f"Source system: {dataset.source_system}. Coverage: {start} to {end}{thins}.",
        "",
        table_cell(dataset.description),
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(table_markdown(t, level + 1) for t in dataset.tables.values())


def markdown(level: int = 2) -> str:
    """The whole data dictionary as Markdown (MyST-compatible), datasets in the generator's order."""
    intro = (
        "Every table the generator writes, from the specs in `synthetic/datasets/`. In the *name* column, "
        "*confirmed* means the real Data First release uses this column name (the source is given); *inferred* "
        "means this project chose the name. Columns marked *identifier* are the details MoJ links on before a "
        "release; real research extracts do not carry them, and neither does the synthetic release: they are in "
        '`identified/`, which `connect(folder, view="identified")` joins back for teaching linkage. '
        "All data described here are synthetic.\n"
    )
    return intro + "\n" + "\n".join(dataset_markdown(d, level) for d in datasets().values())


def _percent(rate: float) -> str:
    return "" if rate == 0 else f"{100 * rate:.1f}".rstrip("0").rstrip(".")


def recording_errors_markdown() -> str:
    """The recording errors as the generator applies them, in order, with each dataset's rate (per cent of
    records; blank for none), read from the spec and its overrides in use."""
    names = recording_datasets()
    rates = {name: error_rates(name) for name in names}
    lines = [
        "| | error | " + " | ".join(f"`{name}`" for name in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for step, kind in enumerate(applied_order(), start=1):
        where = "row" if "." not in kind else kind.split(".")[0]
        label = f"{where}: {kind.rpartition('.')[2].replace('_', ' ')}"
        lines.append(f"| {step} | {label} | " + " | ".join(_percent(rates[n][kind]) for n in names) + " |")
    return "\n".join(lines) + "\n"


def linking_tables() -> dict[str, TableSpec]:
    """The tables `sdfirst link` writes, as linkage.yaml's `output.dictionary` describes them, by name."""
    output = load_yaml("linkage.yaml")["output"]
    return {name: table_spec(output["folder"], name, raw) for name, raw in output.get("dictionary", {}).items()}


def linking_markdown(level: int = 3) -> str:
    """The data dictionary of the linking tables as Markdown (the linking chapter shows it)."""
    intro = (
        "The tables `sdfirst link` writes, from `output.dictionary` in `synthetic/linkage.yaml`. In the *name* "
        "column, *confirmed* means MoJ uses this column name (the source is given); *inferred* means this project "
        "chose it.\n"
    )
    return intro + "\n" + "\n".join(table_markdown(t, level) for t in linking_tables().values())
