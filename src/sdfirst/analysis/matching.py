"""Propensity-score matching: unpaid work with a rehabilitation activity requirement against either alone.

The cohort is each person's first community order or suspended sentence order in a window (probation.flatfile)
that carries unpaid work, a rehabilitation activity requirement (RAR) or both (probation.rqmnts). The outcome is
re-entry: a new magistrates' case (not a breach) for an offence after the order began, within a fixed follow-up.
Covariates are what the records show about the person at the start: age, sex, offence group and the number of
earlier magistrates' cases, counted through the linkage output's person id (or the truth, to measure linkage error).

The matching itself is deliberately plain numpy and pandas, so that every step can be read: a logistic regression
(statsmodels) for the propensity score, greedy one-to-one nearest-neighbour matching on its logit within a caliper,
in a seeded random order of the treated, and standardised mean differences to check the balance it achieved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from sdfirst.journeys.pathways import mags_cases_sql, person_keys_sql
from sdfirst.journeys.timeline import ESTIMATED
from sdfirst.stats import Z95, iso_date

#: The requirement groups of the cohort, the combination first.
BOTH, UPW_ONLY, RAR_ONLY = "UPW and RAR", "UPW only", "RAR only"
GROUPS = (BOTH, UPW_ONLY, RAR_ONLY)
#: rqmnt_type_main_category_desc of the two requirements.
UNPAID_WORK = "Unpaid Work"
RAR = "Rehabilitation Activity Requirement"


def requirement_cohort_sql(
    referred_from: str | dt.date, referred_to: str | dt.date, key: str = ESTIMATED, follow_up_days: int = 365
) -> str:
    """The query behind :func:`requirement_cohort`."""
    start, end, days = iso_date(referred_from), iso_date(referred_to), int(follow_up_days)
    return f"""
    WITH keys AS ({person_keys_sql(key)}),
    reqs AS (  -- which of the two requirements each order carries
        SELECT event_id_hash,
               bool_or(rqmnt_type_main_category_desc = '{UNPAID_WORK}') AS upw,
               bool_or(rqmnt_type_main_category_desc = '{RAR}') AS rar
        FROM probation.rqmnts GROUP BY event_id_hash
    ),
    orders AS (  -- each person's first community or suspended sentence order with either requirement
        SELECT k.person, f.event_id_hash, f.referral_date, f.age_at_offence AS age,
               coalesce(f.gender, 'Not recorded') AS sex,
               coalesce(f.mo_category_description, 'Not recorded') AS offence_group,
               CASE WHEN r.upw AND r.rar THEN '{BOTH}' WHEN r.upw THEN '{UPW_ONLY}' ELSE '{RAR_ONLY}' END
                   AS requirements
        FROM probation.flatfile f
        JOIN reqs r USING (event_id_hash)
        JOIN keys k ON k.row_id_hash = f.row_id_hash AND k.source_dataset = 'probation_delius'
        WHERE (f.disposal_type_description LIKE '%Community Order' OR f.disposal_type_description LIKE '%Suspended%')
          AND (r.upw OR r.rar)
          AND f.referral_date BETWEEN DATE '{start}' AND DATE '{end}'
        QUALIFY row_number() OVER (PARTITION BY k.person ORDER BY f.referral_date, f.event_id_hash) = 1
    ),
    cases AS (  -- every non-breach magistrates' case of the cohort's people
        SELECT o.person, o.referral_date, m.first_hearing_date,
               coalesce(m.offence_date, m.first_hearing_date) AS offence_date
        FROM orders o
        JOIN ({mags_cases_sql()}) m ON m.person = o.person
    ),
    counted AS (
        SELECT person,
               count(*) FILTER (WHERE first_hearing_date < referral_date) AS previous_cases,
               count(*) FILTER (WHERE offence_date > referral_date
                                  AND first_hearing_date <= referral_date + INTERVAL {days} DAY) AS new_cases
        FROM cases GROUP BY person
    )
    SELECT o.person, o.requirements, o.referral_date, o.age, o.sex, o.offence_group,
           coalesce(c.previous_cases, 0) AS previous_cases,
           coalesce(c.new_cases, 0) AS new_cases,
           (coalesce(c.new_cases, 0) > 0)::INTEGER AS reentered
    FROM orders o LEFT JOIN counted c USING (person)
    ORDER BY o.person
    """


def requirement_cohort(
    con: duckdb.DuckDBPyConnection,
    referred_from: str | dt.date,
    referred_to: str | dt.date,
    key: str = ESTIMATED,
    follow_up_days: int = 365,
) -> pd.DataFrame:
    """One row per person: their first order with unpaid work and/or a RAR referred in the window, the covariates
    known at its start, and their new non-breach magistrates' cases within the follow-up (`new_cases`, for an
    offence after the order began) and whether they had any (`reentered`).

    The follow-up must end inside the magistrates' coverage for every order: choose ``referred_to`` accordingly.
    """
    frame = con.execute(requirement_cohort_sql(referred_from, referred_to, key, follow_up_days)).df()
    frame["referral_date"] = pd.to_datetime(frame["referral_date"])
    return frame


def propensity_scores(frame: pd.DataFrame, treatment: str, covariates: Sequence[str]) -> pd.Series:
    """The fitted probability of treatment given the covariates (a logistic regression with statsmodels).

    ``treatment`` is a 0/1 column; ``covariates`` are formula terms such as ``"age"`` or ``"C(sex)"``.
    """
    formula = f"{treatment} ~ " + (" + ".join(covariates) if covariates else "1")
    fit = smf.logit(formula, data=frame).fit(disp=False)
    return pd.Series(np.asarray(fit.predict(frame)), index=frame.index, name="propensity")


def logit(p: np.ndarray | pd.Series) -> np.ndarray:
    """log(p / (1 - p)), with p kept off 0 and 1: matching on this scale spreads out scores near the ends."""
    q = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    return np.log(q / (1 - q))


#: The grid on which :func:`match_nearest` compares scores (in the units of the score, usually a logit).
SCORE_RESOLUTION = 1e-6


def match_nearest(
    score: np.ndarray, treated: np.ndarray, caliper: float, seed: int = 0, resolution: float = SCORE_RESOLUTION
) -> pd.DataFrame:
    """Greedy one-to-one nearest-neighbour matching without replacement, within a caliper.

    The treated are taken in a seeded random order (greedy matching depends on the order, so it must be fixed for
    the result to be reproducible); each takes the nearest control not yet used, if it lies within ``caliper``
    (in the units of ``score``, usually 0.2 standard deviations of the logit of the propensity score). Ties go to
    the control that comes first. Returns the positions of the pairs: columns ``treated`` and ``control``.

    Scores are rounded to whole multiples of ``resolution`` and compared as integers. Two controls the same
    distance either side of a treated person (one a year older, one a year younger, all else equal) are tied in
    exact arithmetic, but in floating point their distances differ in the last digits, which depend on the
    fitted coefficients' last digits, and so on the machine's linear algebra library and its threads: changing
    the coefficients by one part in 10^13 changed a matched effect in the book from -0.0175 to -0.0088. On the grid
    such ties are exact and go, as documented, to the control that comes first; differences finer than the grid
    (10^-6 on the logit scale by default) mean nothing about the propensity to be treated.
    """
    score = np.asarray(score, dtype=float)
    treated = np.asarray(treated, dtype=bool)
    if np.isnan(score).any():
        raise ValueError("missing propensity scores: fill or drop rows with missing covariates before matching")
    steps = np.rint(score / resolution).astype(np.int64)
    reach = caliper / resolution
    t_pos, c_pos = np.flatnonzero(treated), np.flatnonzero(~treated)
    order = np.random.default_rng(seed).permutation(len(t_pos))
    used = np.zeros(len(c_pos), dtype=bool)
    far = np.iinfo(np.int64).max
    pairs = []
    for i in t_pos[order]:
        distance = np.abs(steps[c_pos] - steps[i])
        distance[used] = far
        j = int(np.argmin(distance)) if len(c_pos) else -1
        if j >= 0 and distance[j] <= reach:
            used[j] = True
            pairs.append((i, c_pos[j]))
    return pd.DataFrame(pairs, columns=["treated", "control"], dtype=np.int64)


def standardised_mean_difference(x_treated: np.ndarray, x_control: np.ndarray) -> float:
    """(mean treated - mean control) / sqrt((var treated + var control) / 2).

    The usual balance measure: unlike a test it does not grow with the sample, and |SMD| < 0.1 is commonly read
    as good balance. The pooled variance uses the groups' own (n - 1) variances.
    """
    a, b = np.asarray(x_treated, dtype=float), np.asarray(x_control, dtype=float)
    pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    diff = a.mean() - b.mean()
    return float(diff / pooled) if pooled > 0 else 0.0


def design_matrix(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Numeric columns as they are, and text columns as one 0/1 indicator per value, for balance tables."""
    parts = []
    for col in columns:
        if pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col]):
            parts.append(frame[[col]].astype(float))
        else:
            dummies = pd.get_dummies(frame[col].astype(str), prefix=col, prefix_sep=": ").astype(float)
            parts.append(dummies[sorted(dummies.columns)])
    return pd.concat(parts, axis=1)


def balance_table(frame: pd.DataFrame, treatment: str, columns: Sequence[str], pairs: pd.DataFrame) -> pd.DataFrame:
    """Standardised mean differences of each covariate, in the whole cohort and among the matched pairs."""
    x = design_matrix(frame, columns)
    treated = frame[treatment].to_numpy().astype(bool)
    rows = []
    for col in x.columns:
        values = x[col].to_numpy()
        rows.append(
            {
                "covariate": col,
                "smd_before": standardised_mean_difference(values[treated], values[~treated]),
                "smd_after": standardised_mean_difference(
                    values[pairs["treated"].to_numpy()], values[pairs["control"].to_numpy()]
                ),
            }
        )
    return pd.DataFrame(rows)


def naive_difference(frame: pd.DataFrame, treatment: str, outcome: str) -> dict[str, float]:
    """Difference in the outcome's mean, treated minus untreated, with a 95% (normal) interval."""
    t = frame.loc[frame[treatment] == 1, outcome].to_numpy(dtype=float)
    c = frame.loc[frame[treatment] == 0, outcome].to_numpy(dtype=float)
    diff = t.mean() - c.mean()
    se = np.sqrt(t.var(ddof=1) / len(t) + c.var(ddof=1) / len(c))
    return {"estimate": diff, "ci_lower": diff - Z95 * se, "ci_upper": diff + Z95 * se, "n": len(t) + len(c)}


def matched_difference(frame: pd.DataFrame, pairs: pd.DataFrame, outcome: str) -> dict[str, float]:
    """The effect on the treated: the mean difference within matched pairs, with a paired 95% interval."""
    y = frame[outcome].to_numpy(dtype=float)
    d = y[pairs["treated"].to_numpy()] - y[pairs["control"].to_numpy()]
    se = d.std(ddof=1) / np.sqrt(len(d))
    return {"estimate": d.mean(), "ci_lower": d.mean() - Z95 * se, "ci_upper": d.mean() + Z95 * se, "n": len(d)}


def matched_ratio(frame: pd.DataFrame, pairs: pd.DataFrame, outcome: str) -> dict[str, float]:
    """The ratio of the outcome's means, treated over control, within matched pairs, with a 95% interval.

    For a count (new cases), a ratio of means is a rate ratio: it reads on the same scale as a hazard ratio, which
    a difference in means does not. The interval is the delta method's on the log scale, where the ratio is closer
    to normal, and it allows for the pairing through the covariance of the two members' outcomes.
    """
    y = frame[outcome].to_numpy(dtype=float)
    t, c = y[pairs["treated"].to_numpy()], y[pairs["control"].to_numpy()]
    n, mt, mc = len(t), t.mean(), c.mean()
    if mt <= 0 or mc <= 0:
        raise ValueError(f"matched_ratio: the mean of {outcome} is 0 in a group, so no ratio has a log")
    var = t.var(ddof=1) / mt**2 + c.var(ddof=1) / mc**2 - 2 * np.cov(t, c)[0, 1] / (mt * mc)
    se = np.sqrt(var / n)
    ratio = mt / mc
    return {"estimate": ratio, "ci_lower": ratio * np.exp(-Z95 * se), "ci_upper": ratio * np.exp(Z95 * se), "n": n}


def bootstrap_pairs(frame: pd.DataFrame, pairs: pd.DataFrame, outcome: str, reps: int = 1000, seed: int = 0):
    """A percentile 95% bootstrap interval for the matched difference, resampling pairs (seeded)."""
    y = frame[outcome].to_numpy(dtype=float)
    d = y[pairs["treated"].to_numpy()] - y[pairs["control"].to_numpy()]
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), (reps, len(d)))].mean(axis=1)
    lower, upper = np.quantile(means, [0.025, 0.975])
    return {"estimate": d.mean(), "ci_lower": float(lower), "ci_upper": float(upper), "n": len(d)}
