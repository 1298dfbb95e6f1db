"""Dates as whole days since 1970-01-01 (int32), the cheapest form for vectorised arithmetic."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

EPOCH = dt.date(1970, 1, 1)
NEVER = np.int32(2**31 - 1)  # an event that does not happen


def day(value: str | dt.date) -> int:
    """Days since 1970-01-01 of an ISO date or a date."""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return (value - EPOCH).days


def year_start(year: int) -> int:
    return day(dt.date(year, 1, 1))


def year_end(year: int) -> int:
    return day(dt.date(year, 12, 31))


def age_on(dob: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Age in completed years on a date, as the courts count it (a birthday counts on the day)."""
    b = dob.astype("datetime64[D]")
    w = when.astype("datetime64[D]")
    by, wy = b.astype("datetime64[Y]"), w.astype("datetime64[Y]")
    age = wy.astype(np.int64) - by.astype(np.int64)
    # compare month and day, not day of the year, so that leap years do not move birthdays
    bm = (b.astype("datetime64[M]") - by.astype("datetime64[M]")).astype(np.int64)
    wm = (w.astype("datetime64[M]") - wy.astype("datetime64[M]")).astype(np.int64)
    bd = (b - b.astype("datetime64[M]")).astype(np.int64)
    wd = (w - w.astype("datetime64[M]")).astype(np.int64)
    before = (wm < bm) | ((wm == bm) & (wd < bd))
    return age - before.astype(np.int64)


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
