"""sdfirst.book's "look inside" helpers: the chapters show the real code and SQL they call, unaltered."""

from __future__ import annotations

import inspect

from sdfirst.book import look_inside, show_sql, tidy_sql
from sdfirst.journeys.timeline import event_sources, event_sql, person_summary


def test_tidy_sql_keeps_every_token_and_drops_only_layout():
    sql = event_sql(event_sources()[0])
    tidy = tidy_sql(sql)
    assert tidy.split() == sql.split()
    assert all(line == line.strip() and line for line in tidy.splitlines())
    assert "IS NOT NULL" in tidy  # the query as written, not re-rendered by a formatter


def test_look_inside_shows_the_source_as_a_python_block():
    shown = look_inside(person_summary, event_sql).data
    assert shown.startswith("```python\n") and shown.endswith("\n```")
    assert inspect.getsource(person_summary).rstrip() in shown
    assert inspect.getsource(event_sql).rstrip() in shown


def test_show_sql_fences_sql_and_survives_backticks_inside():
    assert show_sql("SELECT 1\n  FROM t").data == "```sql\nSELECT 1\nFROM t\n```"
    tricky = show_sql("SELECT '```' AS fence").data
    assert tricky.startswith("````sql\n") and tricky.endswith("\n````")
