"""Day-number calendar arithmetic (sdfirst.synth.dates) against Python's own dates."""

import datetime as dt

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sdfirst.synth import dates

DAYS = st.integers(dates.day("1850-01-01"), dates.day("2150-12-31"))


def _date(days: int) -> dt.date:
    return dates.EPOCH + dt.timedelta(days=days)


@given(st.lists(DAYS, min_size=1, max_size=30))
def test_ymd_agrees_with_python(days):
    year, month, dom = dates.ymd(np.array(days))
    assert [(y, m, d) for y, m, d in zip(year, month, dom, strict=True)] == [
        (_date(x).year, _date(x).month, _date(x).day) for x in days
    ]


def test_ymd_outside_the_table_still_answers():
    far = np.array([dates.CALENDAR_FIRST - 1, dates.CALENDAR_LAST + 1, int(dates.NEVER)])
    year, month, dom = dates.ymd(far)
    assert (year[0], month[0], dom[0]) == (1799, 12, 31)
    assert (year[1], month[1], dom[1]) == (2200, 1, 1)
    assert year[2] > 5_000_000


@given(DAYS, DAYS)
def test_age_on_counts_completed_years(born, on):
    b, w = _date(born), _date(on)
    expected = w.year - b.year - ((w.month, w.day) < (b.month, b.day))
    assert dates.age_on(np.array([born]), np.array([on]))[0] == expected


def test_a_leap_day_birthday_and_the_day_itself():
    born = dates.day("2000-02-29")
    on = np.array([dates.day(d) for d in ("2018-02-28", "2018-03-01", "2020-02-29")])
    assert dates.age_on(np.full(3, born), on).tolist() == [17, 18, 20]
