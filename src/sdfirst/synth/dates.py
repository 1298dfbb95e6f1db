"""Dates as whole days since 1970-01-01 (int32), the cheapest form for vectorised arithmetic."""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pyarrow as pa

EPOCH = dt.date(1970, 1, 1)
NEVER = np.int32(2**31 - 1)  # an event that does not happen
YEAR = 365.25  # days in a mean year: ages and spans in years from day numbers


def day(value: str | dt.date) -> int:
    """Days since 1970-01-01 of an ISO date or a date."""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return (value - EPOCH).days


def year_start(year: int) -> int:
    return day(dt.date(year, 1, 1))


def year_end(year: int) -> int:
    return day(dt.date(year, 12, 31))


CALENDAR_FIRST, CALENDAR_LAST = day("1800-01-01"), day("2199-12-31")


@functools.cache
def _calendar() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of the month of every day from CALENDAR_FIRST to CALENDAR_LAST."""
    return _ymd_datetime64(np.arange(CALENDAR_FIRST, CALENDAR_LAST + 1))


def _ymd_datetime64(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]")
    return (
        year.astype(np.int64) + 1970,
        (month_start - year.astype("datetime64[M]")).astype(np.int64) + 1,
        (d - month_start).astype(np.int64) + 1,
    )


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day of the month (1-31) of each day number.

    Looked up in a table of four centuries: numpy's datetime64 conversions are civil-calendar arithmetic on every
    element, a hundred times slower than a lookup. Days outside the table (NEVER, say) take that slow way.
    """
    days = np.asarray(days, dtype=np.int64)
    if days.size and (days.min() < CALENDAR_FIRST or days.max() > CALENDAR_LAST):
        return _ymd_datetime64(days)
    year, month, dom = _calendar()
    at = days - CALENDAR_FIRST
    return year[at], month[at], dom[at]


def age_on(dob: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Age in completed years on a date, as the courts count it (a birthday counts on the day)."""
    by, bm, bd = ymd(dob)
    wy, wm, wd = ymd(when)
    # compare month and day, not day of the year, so that leap years do not move birthdays
    before = (wm < bm) | ((wm == bm) & (wd < bd))
    return wy - by - before.astype(np.int64)


def add_years(days: np.ndarray, years: np.ndarray | float) -> np.ndarray:
    """Add (fractional) years as 365.25-day years: good enough for sentence lengths and ages."""
    return (days + np.round(np.asarray(years) * 365.25)).astype(np.int32)


def to_arrow(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """A date32 column; NEVER and masked entries become nulls."""
    days = np.asarray(days, dtype=np.int32)
    mask = days == NEVER
    if missing is not None:
        mask = mask | missing
    return pa.array(np.where(mask, 0, days), type=pa.int32(), mask=mask).cast(pa.date32())


def censored(days: np.ndarray, end: int) -> pa.Array:
    """A date32 column as an extract taken on day `end` holds it: later dates have not happened yet (null)."""
    days = np.asarray(days)
    return to_arrow(days, days > end)
