"""Small pieces the analysis modules share (`journeys`, `analysis`): the z of a 95% interval, and dates for SQL."""

from __future__ import annotations

import datetime as dt

#: z for a two-sided 95% interval.
Z95 = 1.959964


def iso_date(value: str | dt.date) -> str:
    """A date as an ISO string that is safe to put in SQL: anything that is not a date is refused here."""
    return (value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))).isoformat()
