"""The listings the chapters show: the real source and SQL, in a fence that nothing inside can close."""

from __future__ import annotations

import inspect

import pytest

from sdfirst.journeys.survival import cox_model, survival_sql
from sdfirst.look_inside import Listing, show_source, show_sql


def test_show_source_is_the_functions_own_source_in_a_python_block():
    listing = show_source(cox_model)
    assert listing.text == inspect.getsource(cox_model).rstrip()
    markdown = listing._repr_markdown_()
    assert markdown.startswith("```python\n")
    assert markdown.endswith("\n```")
    assert repr(listing) == listing.text  # what a terminal (and nbval's text/plain) sees


def test_show_source_joins_several_objects_in_order():
    listing = show_source(cox_model, survival_sql)
    first, second = inspect.getsource(cox_model).rstrip(), inspect.getsource(survival_sql).rstrip()
    assert listing.text == f"{first}\n\n{second}"


def test_show_source_needs_something_to_show():
    with pytest.raises(ValueError, match="at least one"):
        show_source()


def test_show_sql_removes_common_indentation_and_keeps_the_query():
    query = survival_sql("2014-01-01", "2018-12-31", "2021-12-31")
    listing = show_sql(query)
    assert listing.language == "sql"
    assert not listing.text.startswith((" ", "\n"))
    assert [line.strip() for line in listing.text.splitlines()] == [
        line.strip() for line in query.strip("\n").rstrip().splitlines()
    ]
    assert "DATE '2021-12-31'" in listing.text


def test_a_fence_is_longer_than_any_backticks_in_the_code():
    listing = Listing("x = '```'\ny = '````'", "python")
    markdown = listing._repr_markdown_()
    assert markdown.startswith("`````python\n")
    assert markdown.endswith("\n`````")
