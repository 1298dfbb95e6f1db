"""The national prosecution trend (justice.yaml prosecution_trend) reaches the court data: the fall over the decade
and the 2020 drop in magistrates' court receipts, by about the ratios the spec gives."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from conftest import scalar
from sdfirst import specs
from sdfirst.exceptions import DataFirstError
from sdfirst.synth import dates, generate
from sdfirst.synth.trends import expected_first_hearing, peak_index, volume_index
from sdfirst.synth.world import Window, World


def _spec() -> dict:
    return specs.load_yaml("justice.yaml")["prosecution_trend"]


def _yearly(year: int) -> float:
    spec = _spec()
    return spec["yearly"][year - spec["first_year"]]


def _records(con, year: int) -> int:
    sql = "SELECT count(*) FROM magistrates.case_summary WHERE year(first_hearing_date) = ?"
    return scalar(con, sql, [year])


def test_the_index_reads_years_months_and_both_ends():
    spec = _spec()
    days = np.array([dates.day(d) for d in ("2003-07-01", "2016-03-15", "2020-04-30", "2021-12-01", "2040-01-01")])
    index = volume_index(days)
    assert index[0] == spec["yearly"][0]  # before the decade: flat at its first year
    assert index[1] == _yearly(2016)
    assert index[2] == spec["monthly"][0][3]  # April 2020, from the monthly rows
    assert index[3] == spec["monthly"][1][11]
    assert index[4] == spec["yearly"][-1]  # after the list: its last value
    assert peak_index() == max(spec["yearly"] + [v for row in spec["monthly"] for v in row])


def test_the_2020_drop_reaches_the_magistrates_data(con):
    """Receipts in 2020 fall below 2019 by about the mean of 2020's months against 2019 (the spec's ratio)."""
    expected = np.mean(_spec()["monthly"][0]) / _yearly(2019)
    measured = _records(con, 2020) / _records(con, 2019)
    assert measured < 1
    assert measured == pytest.approx(expected, abs=0.08)  # about 700 records a year at 30,000 people


def test_the_lockdown_quarter_is_the_lowest(con):
    """April to June 2020 has fewer first hearings a month than January and February 2020, by about the spec's
    ratio of their months."""
    monthly = dict(
        con.execute(
            "SELECT month(first_hearing_date), count(*) FROM magistrates.case_summary "
            "WHERE year(first_hearing_date) = 2020 GROUP BY 1"
        ).fetchall()
    )
    months = _spec()["monthly"][0]
    measured = np.mean([monthly[m] for m in (4, 5, 6)]) / np.mean([monthly[m] for m in (1, 2)])
    assert measured == pytest.approx(np.mean(months[3:6]) / np.mean(months[:2]), abs=0.15)


def _mags_by_year(folder) -> dict[int, int]:
    rows = duckdb.connect().execute(
        f"SELECT year(first_hearing_date), count(*) FROM read_parquet('{folder}/magistrates/case_summary/*.parquet')"
        " GROUP BY 1"
    )
    return dict(rows.fetchall())


@pytest.fixture(scope="module")
def trend_and_flat(tmp_path_factory) -> tuple[dict[int, int], dict[int, int]]:
    """Magistrates' records a year on one seed, with the spec's index and with a flat one: the same offences, so
    their ratio is the index's doing alone (the population's own drift over the decade cancels)."""
    root = tmp_path_factory.mktemp("trends")
    flat = {"justice.yaml": {"prosecution_trend": {"yearly": [1.0], "monthly": [[1.0] * 12]}}}
    small = {"people": 20_000, "seed": 11, "datasets": "magistrates"}
    generate(root / "trend", **small)
    generate(root / "flat", config=flat, **small)
    return _mags_by_year(root / "trend"), _mags_by_year(root / "flat")


def test_a_flat_index_removes_the_drop(trend_and_flat):
    """The index is what makes 2020 low: the same seed with a flat index has as many receipts in 2020 as in 2019."""
    trend, plain = trend_and_flat
    assert trend[2020] / trend[2019] < 0.85
    assert plain[2020] / plain[2019] == pytest.approx(1.0, abs=0.12)
    # a flat index prosecutes every offence not cautioned; the trend, fewer and fewer of them after 2011
    assert sum(plain[y] for y in range(2013, 2020)) > 1.05 * sum(trend[y] for y in range(2013, 2020))


def test_the_decade_falls_by_about_the_spec_ratio():
    """Of the offences not cautioned, the share prosecuted in 2019 against 2011 is about the index's ratio. It is
    read at the prosecution step (offences at the day they finally happen on, and whether they have a case), not
    by comparing folders: fewer prosecutions mean fewer people held, and so more offending at liberty, which a
    comparison of two folders' court records mixes in."""
    world = World(seed=11, chunk=0, first_id=0, n_people=30_000, window=Window.of_years(2000, 2023))
    view = world.courts.offending
    year = dates.ymd(expected_first_hearing(view.code, view.date))[0]
    eligible = ~view.cautioned
    share = {y: (view.case[eligible & (year == y)] >= 0).mean() for y in (2011, 2019)}
    assert share[2019] / share[2011] == pytest.approx(_yearly(2019) / _yearly(2011), abs=0.04)


def test_an_index_of_zero_everywhere_is_refused(tmp_path):
    zero = {"justice.yaml": {"prosecution_trend": {"yearly": [0.0], "monthly": [[0.0] * 12]}}}
    with pytest.raises(DataFirstError, match="prosecution_trend"):
        generate(tmp_path / "zero", people=200, seed=1, config=zero, datasets="magistrates")
