"""Time to re-entry: how long after a sentence a person comes back into the justice system, as survival data.

Each person's first community order or short custodial sentence in a window is the index disposal. The clock
starts when the person is at risk: at the sentence for a community order, at release from prison for custody
(someone in prison cannot come back to court from the street, so time inside is not time at risk). The event is
re-entry: a new magistrates' case for an offence committed after the clock started, or a new prison reception.
People with no event are censored at the end of coverage (or of a fixed follow-up), and people released from
custody also at their first recall to prison, which takes them off the street without a new case. Records are
joined through the person, which is the linkage output's ``estimated_xjs_id`` unless the truth is asked for (to
measure linkage error).

Kaplan-Meier curves and a Cox proportional hazards model come from statsmodels (``SurvfuncRight``, ``PHReg``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight

from sdfirst.journeys.pathways import ESTIMATED, GRACE_DAYS, mags_cases_sql, person_keys_sql
from sdfirst.specs import datasets
from sdfirst.stats import iso_date

COMMUNITY = "Community order"
SHORT_CUSTODY = "Short custody"
#: Custodial sentences shorter than this are "short" (under 12 months).
SHORT_CUSTODY_DAYS = 365
ADULT_AGE = 18


def coverage_end(sources: Sequence[str] = ("magistrates", "prison")) -> dt.date:
    """The last day on which every dataset that can record a re-entry holds all its records (from the specs in
    synthetic/): before the magistrates' data fall away as the Common Platform takes over."""
    specs = datasets()
    return min(dt.date.fromisoformat(specs[name].complete_until) for name in sources)


def survival_sql(
    sentenced_from: str | dt.date,
    sentenced_to: str | dt.date,
    end: str | dt.date,
    key: str = ESTIMATED,
    short_custody_days: int = SHORT_CUSTODY_DAYS,
    follow_up_days: int | None = None,
) -> str:
    """The query behind :func:`survival_table`."""
    start_s, to_s, end_s = iso_date(sentenced_from), iso_date(sentenced_to), iso_date(end)
    short = int(short_custody_days)
    follow = f"DATE '{end_s}'"  # censoring: the end of coverage, or earlier after a fixed follow-up
    if follow_up_days:
        follow = f"least({follow}, clock_start + INTERVAL {int(follow_up_days)} DAY)"
    return f"""
    WITH keys AS ({person_keys_sql(key)}),
    mags AS ({mags_cases_sql()}),
    sentences AS (  -- community orders and short custody passed by either court, adults only
        SELECT person, row_id_hash, disposal_type, disposal_date AS sentence_date,
               custody_length_days, age_at_hearing AS age, sex, offence_group,
               coalesce(offence_date, disposal_date) AS offence_date
        FROM mags
        UNION ALL
        SELECT k.person, c.row_id_hash, c.disposal_type, c.sentence_date, c.custody_length_days,
               c.age_at_receipt, c.sex, c.offence_group, coalesce(c.offence_date, c.sentence_date)
        FROM crown_court.case_summary c
        JOIN keys k ON k.row_id_hash = c.row_id_hash AND k.source_dataset = 'crown_xhibit'
    ),
    indexed AS (  -- each person's first such sentence in the window
        SELECT *, CASE disposal_type WHEN 'Community order' THEN '{COMMUNITY}' ELSE '{SHORT_CUSTODY}' END AS disposal
        FROM sentences
        WHERE sentence_date BETWEEN DATE '{start_s}' AND DATE '{to_s}'
          AND age >= {ADULT_AGE}
          AND (disposal_type = 'Community order'
               OR (disposal_type = 'Immediate custody' AND custody_length_days < {short}))
        QUALIFY row_number() OVER (PARTITION BY person ORDER BY sentence_date, row_id_hash) = 1
    ),
    journeys AS (
        SELECT k.person, p.* FROM prison.custodial_journey p
        JOIN keys k ON k.row_id_hash = p.row_id_hash AND k.source_dataset = 'prison_nomis'
    ),
    released AS (  -- for custody, the prison journey that holds the sentence, its first release and any recall
        SELECT i.person, j.first_release_date, j.first_recall_date, j.journey_start_date
        FROM indexed i JOIN journeys j USING (person)
        WHERE i.disposal = '{SHORT_CUSTODY}'
          AND j.journey_start_date <= i.sentence_date + INTERVAL {GRACE_DAYS} DAY
          AND coalesce(j.journey_end_date, DATE '9999-12-31') >= i.sentence_date
        QUALIFY row_number() OVER (PARTITION BY i.person ORDER BY j.journey_start_date DESC, j.row_id_hash) = 1
    ),
    clocked AS (
        SELECT i.*, r.first_release_date AS release_date, r.first_recall_date AS recall_date,
               r.person IS NOT NULL AS prison_found,
               CASE WHEN i.disposal = '{COMMUNITY}' THEN i.sentence_date ELSE r.first_release_date END AS clock_start
        FROM indexed i LEFT JOIN released r USING (person)
    ),
    previous AS (  -- magistrates' cases heard before the index offence: the person's visible record
        SELECT c.person, count(*) AS previous_cases
        FROM clocked c
        JOIN mags m ON m.person = c.person
        WHERE m.first_hearing_date < c.offence_date
        GROUP BY c.person
    ),
    events AS (  -- re-entry: a new case for an offence after the clock started, or a new prison reception
        SELECT c.person, min(m.first_hearing_date) AS event_date
        FROM clocked c
        JOIN mags m ON m.person = c.person
        WHERE m.first_hearing_date > c.clock_start
          AND coalesce(m.offence_date, m.first_hearing_date) > c.clock_start
        GROUP BY c.person
        UNION ALL
        SELECT c.person, min(j.journey_start_date)
        FROM clocked c JOIN journeys j USING (person)
        WHERE j.journey_start_date > c.clock_start
        GROUP BY c.person
    ),
    first_event AS (SELECT person, min(event_date) AS event_date FROM events GROUP BY person),
    followed AS (
        -- censored at the end of follow-up, or earlier at a recall: back in prison without a new case, so no
        -- longer at risk (a recall follows a breach of licence, and ends the time at liberty the clock counts)
        SELECT c.*, coalesce(p.previous_cases, 0) AS previous_cases, e.event_date,
               least({follow}, coalesce(c.recall_date, {follow})) AS censor_date
        FROM clocked c LEFT JOIN previous p USING (person) LEFT JOIN first_event e USING (person)
    )
    SELECT person, disposal, sentence_date, custody_length_days, prison_found, release_date, recall_date, clock_start,
           CASE WHEN event_date <= censor_date THEN event_date ELSE censor_date END AS end_date,
           (event_date IS NOT NULL AND event_date <= censor_date)::INTEGER AS event,
           date_diff('day', clock_start,
                     CASE WHEN event_date <= censor_date THEN event_date ELSE censor_date END) AS days_at_risk,
           age, sex, offence_group, previous_cases
    FROM followed
    ORDER BY person
    """


def survival_table(
    con: duckdb.DuckDBPyConnection,
    sentenced_from: str | dt.date,
    sentenced_to: str | dt.date,
    end: str | dt.date | None = None,
    key: str = ESTIMATED,
    short_custody_days: int = SHORT_CUSTODY_DAYS,
    follow_up_days: int | None = None,
) -> pd.DataFrame:
    """One row per adult whose first community order or short custodial sentence fell in the window.

    Columns: ``person``, ``disposal`` (``Community order`` or ``Short custody``), ``sentence_date``,
    ``custody_length_days``, ``prison_found`` (a linked prison journey holds the sentence), ``release_date``,
    ``recall_date`` (the journey's first recall, where the clock stops if no re-entry came first), ``clock_start``
    (sentence for orders, first release for custody), ``end_date`` (re-entry or censoring), ``event`` (1
    re-entered, 0 censored), ``days_at_risk``, ``age``, ``sex``, ``offence_group``, ``previous_cases``.

    ``end`` is the end of coverage (default :func:`coverage_end`); ``follow_up_days`` censors earlier, after a
    fixed follow-up. Rows with no time at risk are kept (``days_at_risk`` null or not positive) so that a reader can
    count them: custody with no linked prison journey, or still in prison at the end. :func:`at_risk` drops them.
    """
    sql = survival_sql(sentenced_from, sentenced_to, end or coverage_end(), key, short_custody_days, follow_up_days)
    return con.execute(sql).df()


def at_risk(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`survival_table` with some time at risk (a clock start and at least one day)."""
    keep = table["clock_start"].notna() & (table["days_at_risk"] > 0)
    return table.loc[keep].reset_index(drop=True)


def lump_rare(values: pd.Series, min_count: int, other: str = "Other") -> pd.Series:
    """Values seen fewer than ``min_count`` times replaced by ``other``: tiny groups make a model unstable."""
    counts = values.value_counts()
    rare = counts.index[counts < min_count]
    return values.where(~values.isin(rare), other)


def kaplan_meier(table: pd.DataFrame, group: str = "disposal") -> dict[str, SurvfuncRight]:
    """A Kaplan-Meier estimate (statsmodels ``SurvfuncRight``) of time to re-entry for each value of ``group``."""
    return {
        name: SurvfuncRight(part["days_at_risk"].to_numpy(float), part["event"].to_numpy(int), title=str(name))
        for name, part in sorted(table.groupby(group), key=lambda item: str(item[0]))
    }


def survival_at(curves: dict[str, SurvfuncRight], days: Sequence[int]) -> pd.DataFrame:
    """The share not yet re-entered at each of ``days``, with a 95% pointwise confidence interval, per curve."""
    rows = []
    for name, sf in curves.items():
        times, prob, se = sf.surv_times, sf.surv_prob, sf.surv_prob_se
        for day in days:
            i = np.searchsorted(times, day, side="right") - 1
            p, s = (1.0, 0.0) if i < 0 else (float(prob[i]), float(se[i]))
            rows.append(
                {
                    "group": name,
                    "days": int(day),
                    "at_risk": int((sf.time >= day).sum()),
                    "survival": p,
                    "ci_lower": max(0.0, p - 1.96 * s),
                    "ci_upper": min(1.0, p + 1.96 * s),
                }
            )
    return pd.DataFrame(rows)


def plot_km(curves: dict[str, SurvfuncRight], ax: Any = None, colours: Sequence[str] | None = None) -> Any:
    """Kaplan-Meier step curves with matplotlib (a static image), one per group; returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    colours = list(colours or ["#2b6cb0", "#9b2c2c", "#38a169", "#805ad5"])
    for (name, sf), colour in zip(curves.items(), colours, strict=False):
        times = np.r_[0.0, sf.surv_times]
        prob = np.r_[1.0, sf.surv_prob]
        ax.step(times, prob, where="post", color=colour, label=f"{name} ({len(sf.time):,})")
    ax.set_ylim(0, 1)
    ax.set_xlabel("days at risk")
    ax.set_ylabel("share not yet re-entered")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def cox_model(
    table: pd.DataFrame,
    covariates: Sequence[str] = ("age", "C(sex)", "C(offence_group)"),
    reference: str = COMMUNITY,
) -> Any:
    """A Cox proportional hazards model of time to re-entry on the disposal, adjusted for ``covariates``.

    statsmodels ``PHReg`` with Efron's method for tied days. The disposal's reference level is ``reference``, so
    its hazard ratio compares the other disposal with it. Returns the fitted results.
    """
    terms = " + ".join([f"C(disposal, Treatment('{reference}'))", *covariates])
    model = PHReg.from_formula(f"days_at_risk ~ {terms}", data=table, status=table["event"].to_numpy(), ties="efron")
    return model.fit()


def _term_label(name: str) -> str:
    """``C(disposal, Treatment('x'))[T.y]`` -> ``disposal: y``; ``C(sex)[T.M]`` -> ``sex: M``."""
    match = re.fullmatch(r"C\((\w+)(?:,.*)?\)\[T\.(.*)\]", name)
    return f"{match.group(1)}: {match.group(2)}" if match else name


def hazard_ratios(result: Any, digits: int = 3) -> pd.DataFrame:
    """The fitted Cox model as a table: hazard ratio, 95% confidence interval and p-value per term, rounded."""
    names = result.model.exog_names
    ci = np.exp(result.conf_int())
    table = pd.DataFrame(
        {
            "term": [_term_label(n) for n in names],
            "hazard_ratio": np.exp(result.params),
            "ci_lower": ci[:, 0],
            "ci_upper": ci[:, 1],
            "p_value": result.pvalues,
        }
    )
    return table.round({"hazard_ratio": digits, "ci_lower": digits, "ci_upper": digits, "p_value": 4})


__all__ = [
    "COMMUNITY",
    "SHORT_CUSTODY",
    "at_risk",
    "coverage_end",
    "cox_model",
    "hazard_ratios",
    "kaplan_meier",
    "lump_rare",
    "plot_km",
    "survival_at",
    "survival_sql",
    "survival_table",
]
