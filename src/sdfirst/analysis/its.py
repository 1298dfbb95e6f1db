"""Interrupted time series: monthly releases on temporary licence (ROTL) around a policy date.

The series is built with DuckDB from prison.rotl and prison.custodial_journey: the ROTLs that began in each month,
and two denominators counted on the 15th of the month, the sentenced prisoners in custody and those eligible for
ROTL (a sentence of at least ``min_sentence_days``, at least ``min_days_served`` into the journey and within
``eligible_days`` of first release). Eligibility needs a known release date, so a series that counts it must stop
``eligible_days`` before the prison data end.

The model is a segmented regression of the log monthly rate on time, a step at the interruption (level change) and
time since it (slope change), by ordinary least squares with Newey-West (HAC) standard errors, because the months
of a series are not independent. exp(level change) is the rate ratio at the interruption.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from sdfirst.stats import iso_date


def monthly_rotl_sql(
    first_month: str | dt.date,
    last_month: str | dt.date,
    min_sentence_days: int = 180,
    min_days_served: int = 60,
    eligible_days: int = 270,
) -> str:
    """The query behind :func:`monthly_rotl`."""
    first, last = iso_date(first_month), iso_date(last_month)
    return f"""
    WITH months AS (
        SELECT unnest(generate_series(DATE '{first}', DATE '{last}', INTERVAL 1 MONTH))::DATE AS month
    ),
    counted AS (SELECT date_trunc('month', rotl_date)::DATE AS month, count(*) AS rotl FROM prison.rotl GROUP BY 1),
    sentenced AS (SELECT * FROM prison.custodial_journey WHERE sentenced),
    census AS (  -- who is inside, and who is eligible, on the 15th of each month
        SELECT m.month,
               count(j.row_id_hash) AS in_custody,
               count(j.row_id_hash) FILTER (
                   WHERE j.sentence_length_days >= {int(min_sentence_days)}
                     AND m.month + 14 >= j.journey_start_date + {int(min_days_served)}
                     AND m.month + 14 >= j.first_release_date - {int(eligible_days)}) AS eligible
        FROM months m LEFT JOIN sentenced j
          ON j.journey_start_date <= m.month + 14
         AND coalesce(j.first_release_date, DATE '9999-12-31') > m.month + 14
        GROUP BY m.month
    )
    SELECT month, coalesce(c.rotl, 0) AS rotl, in_custody, eligible
    FROM census LEFT JOIN counted c USING (month)
    ORDER BY month
    """


def monthly_rotl(con: duckdb.DuckDBPyConnection, first_month: str | dt.date, last_month: str | dt.date, **rules):
    """One row per month: ROTLs begun, sentenced prisoners in custody and prisoners eligible for ROTL."""
    frame = con.execute(monthly_rotl_sql(first_month, last_month, **rules)).df()
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def its_design(months: pd.Series, interruption: str | dt.date) -> pd.DataFrame:
    """The segmented-regression terms: ``time`` (months from the first), ``post`` (1 from the interruption on)
    and ``time_since`` (months since the interruption, 0 before it), plus ``calendar_month`` for seasonality."""
    months = pd.to_datetime(pd.Series(months)).reset_index(drop=True)
    cut = pd.Timestamp(interruption)
    time = (months.dt.year - months.dt.year.iloc[0]) * 12 + months.dt.month - months.dt.month.iloc[0]
    post = (months >= cut).astype(int)
    cut_index = (cut.year - months.dt.year.iloc[0]) * 12 + cut.month - months.dt.month.iloc[0]
    return pd.DataFrame(
        {
            "time": time.astype(int),
            "post": post,
            "time_since": np.where(post == 1, time - cut_index, 0).astype(int),
            "calendar_month": months.dt.month.astype(int),
        }
    )


def segmented_regression(
    frame: pd.DataFrame, rate: str, interruption: str | dt.date, hac_lags: int = 6, seasonal: bool = False
):
    """OLS of log(rate) on time, the level change and the slope change, with Newey-West standard errors.

    ``frame`` needs a ``month`` column and the (positive) ``rate`` column; ``seasonal`` adds calendar-month terms.
    Returns the statsmodels results.
    """
    data = pd.concat([frame.reset_index(drop=True), its_design(frame["month"], interruption)], axis=1)
    data = data.assign(log_rate=np.log(data[rate]))
    formula = "log_rate ~ time + post + time_since" + (" + C(calendar_month)" if seasonal else "")
    return smf.ols(formula, data=data).fit(cov_type="HAC", cov_kwds={"maxlags": hac_lags})


def its_effects(result, digits: int = 4) -> pd.DataFrame:
    """The level change as a rate ratio, and the slope change as a ratio per month, with 95% intervals."""
    ci = result.conf_int()
    rows = []
    for term, label in (("post", "level change (rate ratio)"), ("time_since", "slope change (ratio per month)")):
        rows.append(
            {
                "effect": label,
                "estimate": np.exp(result.params[term]),
                "ci_lower": np.exp(ci.loc[term, 0]),
                "ci_upper": np.exp(ci.loc[term, 1]),
                "p_value": result.pvalues[term],
            }
        )
    return pd.DataFrame(rows).round(digits)


def counterfactual(result, frame: pd.DataFrame, interruption: str | dt.date) -> np.ndarray:
    """The fitted rate had the interruption not happened (level and slope changes set to zero)."""
    design = its_design(frame["month"], interruption).assign(post=0, time_since=0)
    return np.exp(np.asarray(result.predict(design)))
