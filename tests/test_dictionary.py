"""The data dictionary is rendered from the specs: every dataset, table and column, with its provenance."""

from __future__ import annotations

from sdfirst.dictionary import markdown, provenance, table_markdown
from sdfirst.specs import ColumnSpec, TableSpec, datasets


def test_every_column_of_every_table_is_listed():
    text = markdown()
    for dataset in datasets().values():
        assert f"(`{dataset.name}`)" in text
        for table in dataset.tables.values():
            section = table_markdown(table)
            assert section in text
            for column in table.columns:
                assert f"| `{column.name}`" in section


def test_provenance_says_confirmed_with_source_or_inferred():
    confirmed = ColumnSpec("x", "string", "d", "confirmed", source="MoJ catalogue")
    inferred = ColumnSpec("y", "string", "d", "inferred")
    assert provenance(confirmed) == "confirmed (MoJ catalogue)"
    assert provenance(inferred) == "inferred"


def test_confirmed_column_appears_with_its_source():
    column = datasets()["probation"].tables["flatfile"].columns
    event = next(c for c in column if c.name == "event_id_hash")
    assert f"confirmed ({event.source})" in markdown()


def test_each_table_says_whether_the_release_has_it():
    """A confirmed table name with its source, an inferred one (with where such a table is described, if known),
    and a teaching table, which no release has, each in one sentence under the table's description."""
    tables = {**datasets()["probation"].tables, **datasets()["prison"].tables, **datasets()["magistrates"].tables}
    assert f"Table name confirmed ({tables['flatfile'].source})." in table_markdown(tables["flatfile"])
    assert "**Teaching table**" in table_markdown(tables["rotl"])
    inferred = table_markdown(tables["case_summary"])
    assert "Table name inferred. The release has such a table (https://" in inferred
    assert "Table name inferred.\n" in table_markdown(tables["safety_incident"])


def test_pipes_in_text_do_not_break_the_table():
    table = TableSpec("d", "t", "a | b", "row", (ColumnSpec("c", "int", "one | two", "inferred", codes=("A|B",)),))
    row = table_markdown(table).splitlines()[-1]
    assert row.count(" | ") == 4
    assert "one \\| two" in row


def test_the_recording_errors_table_reads_the_spec_and_its_overrides():
    """One line per error in the order applied (row-level first), one column per dataset, and an override shows."""
    from sdfirst import specs
    from sdfirst.dictionary import recording_errors_markdown
    from sdfirst.synth.recording import applied_order, recording_datasets

    lines = recording_errors_markdown().splitlines()
    assert len(lines) == 2 + len(applied_order()) and all(f"`{d}`" in lines[0] for d in recording_datasets())
    assert lines[2].startswith("| 1 | row: omitted |") and lines[-1].startswith("| 20 | sex: other |")
    change = {"recording_errors.yaml": {"datasets": {"civil": {"columns": {"sex": {"other": 0.125}}}}}}
    with specs.overridden(specs.read_overrides(change)):
        row = recording_errors_markdown().splitlines()[-1].split(" | ")
    assert row[1 + recording_datasets().index("civil") + 1] == "12.5"
