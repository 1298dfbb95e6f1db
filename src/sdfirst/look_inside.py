"""Show, in a chapter, the code it relies on: the source of package functions and the SQL they run.

A chapter that calls a package function should also show its core, and what it shows must be the code that ran, so
that it cannot drift from it. :func:`show_source` and :func:`show_sql` return a :class:`Listing`, which a notebook
displays as a Markdown code block (highlighted like the page's own code, with no styles of its own) and a terminal
as plain text. Nothing here depends on IPython: a ``_repr_markdown_`` method is all that Jupyter needs.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import dataclass
from typing import Any

__all__ = ["Listing", "show_source", "show_sql"]


@dataclass(frozen=True)
class Listing:
    """Code to show: its text and the language to highlight it as."""

    text: str
    language: str

    def _repr_markdown_(self) -> str:
        """A fenced code block whose fence is longer than any run of backticks in the code, so none can close it."""
        longest = max((len(run) for run in re.findall(r"`+", self.text)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"{fence}{self.language}\n{self.text}\n{fence}"

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def show_source(*objects: Any) -> Listing:
    """The source of each of ``objects`` (functions, classes, modules), one after another, as a Python listing."""
    if not objects:
        raise ValueError("show_source needs at least one function, class or module")
    return Listing("\n\n".join(inspect.getsource(obj).rstrip() for obj in objects), "python")


def show_sql(query: str) -> Listing:
    """A query as an SQL listing, with its common indentation and surrounding blank lines removed."""
    return Listing(textwrap.dedent(query).strip("\n").rstrip(), "sql")
