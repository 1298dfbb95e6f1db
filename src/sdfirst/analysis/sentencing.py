"""Ethnic disparities in Crown Court sentencing: the modelling frame, the models and their coefficient tables.

After the MoJ's multilevel analysis of Crown Court sentencing (2022): the chance of immediate custody is modelled on
ethnicity with the legal factors that a sentencer weighs (offence seriousness and group, remand, plea, previous
cases, youth, and whether the offence was committed with others), first as an ordinary logistic regression and then
with a random intercept for each Crown Court centre, because defendants sentenced at the same court share its
practice. Sentence length is modelled on the log scale with a linear mixed model.

The frame is built with DuckDB from a generated folder. Previous cases are not a column of the Crown Court data:
they are counted from the magistrates' courts data, for which a person key across the two datasets is needed: either
the linkage output (`estimated_xjs_id`, what a researcher has) or the truth (to measure what linkage error costs).
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

from sdfirst.journeys.pathways import ESTIMATED, mags_cases_sql, person_keys_sql
from sdfirst.specs import load_yaml
from sdfirst.stats import Z95

#: Broad ethnic groups of the Crown Court data, the reference group first. "Not stated" rows are left out.
ETHNIC_GROUPS = ("White", "Mixed", "Asian", "Black", "Other")
REFERENCE = "White"
#: The ethnicity term of every formula here: treatment contrasts against White.
ETHNICITY = f'C(ethnicity, Treatment("{REFERENCE}"))'
#: The legal factors, as model terms of the frame's columns.
LEGAL_FACTORS = ("C(severity)", "C(offence_group)", "remanded", "guilty_plea", "previous", "youth", "co_defendants")


def frame_sql(key: str = ESTIMATED) -> str:
    """The query behind :func:`sentencing_frame`."""
    groups = ", ".join(f"'{g}'" for g in ETHNIC_GROUPS)
    return f"""
WITH persons AS ({person_keys_sql(key)}),
crown AS (
    SELECT c.row_id_hash, c.court_name AS court, c.ethnicity, c.sex, c.age_at_receipt AS age,
           c.offence_group, c.offence_severity AS severity, c.remanded_in_custody::INT AS remanded,
           (c.plea = 'Guilty')::INT AS guilty_plea, (c.age_at_receipt < 18)::INT AS youth,
           (c.number_of_defendants > 1)::INT AS co_defendants,
           coalesce(c.offence_date, c.receipt_date) AS offence_date,
           (c.disposal_type = 'Immediate custody')::INT AS custody,
           CASE WHEN c.disposal_type = 'Immediate custody' THEN c.custody_length_days END AS custody_days,
           p.person
    FROM crown_court.case_summary c
    LEFT JOIN persons p ON p.source_dataset = 'crown_xhibit' AND p.row_id_hash = c.row_id_hash
    WHERE c.case_type IN ('Trial', 'Sentence') AND c.disposal_type IS NOT NULL
      AND c.ethnicity IN ({groups})
),
mags AS (SELECT first_hearing_date, person FROM ({mags_cases_sql("persons")}))
SELECT c.row_id_hash, c.person, c.court, c.ethnicity, c.sex, c.age, c.offence_group, c.severity, c.remanded,
       c.guilty_plea, c.youth, c.co_defendants, c.custody, c.custody_days,
       count(m.person) AS previous_cases
FROM crown c LEFT JOIN mags m ON m.person = c.person AND m.first_hearing_date < c.offence_date
GROUP BY ALL
ORDER BY c.row_id_hash
"""


def sentencing_frame(con: duckdb.DuckDBPyConnection, key: str = ESTIMATED, previous_cap: int = 10) -> pd.DataFrame:
    """One row per defendant sentenced at the Crown Court (trials and committals for sentence), with the outcome
    (`custody`, `custody_days`), ethnicity, the legal factors and the person key (`person`: one person can be
    sentenced on several cases).

    `previous_cases` counts the person's magistrates' court cases (breaches left out) with a first hearing before
    this offence; every case starts at a magistrates' court, so this is the person's earlier cases as far as the
    data reach back (2011). `co_defendants` is 1 when the case has more than one defendant
    (`number_of_defendants`): an offence committed as part of a group is an aggravating factor in the sentencing
    guidelines, and leaving it out would bias any term it is correlated with. The person key is `key`: the linkage
    output's `estimated_xjs_id` (linking.xjs_link, from `sdfirst link`), a cluster at another threshold, or the
    truth, `person_id`.
    `previous` caps the count at `previous_cap` (the generator's own cap on its effect, `custody_previous_cap`
    in justice.yaml), as a sentencer gives the tenth previous case little more weight than the ninth.
    """
    frame = con.execute(frame_sql(key)).df()
    frame["previous_cases"] = frame["previous_cases"].astype(int)
    frame["previous"] = frame["previous_cases"].clip(upper=previous_cap)
    frame["log_days"] = np.log(frame["custody_days"].astype(float))
    return frame


def formula(outcome: str = "custody", legal: bool = True, extra: tuple[str, ...] = ()) -> str:
    """A model formula: the outcome on ethnicity, with the legal factors unless `legal` is False."""
    terms = [ETHNICITY, *(LEGAL_FACTORS if legal else ()), *extra]
    return f"{outcome} ~ " + " + ".join(terms)


def fit_logit(frame: pd.DataFrame, model_formula: str):
    """Logistic regression by maximum likelihood (fixed effects only), Newton's method with room to converge
    when a small group is (nearly) perfectly predicted."""
    return smf.logit(model_formula, data=frame).fit(disp=0, maxiter=100)


def fit_mixed_logit(frame: pd.DataFrame, model_formula: str, group: str = "court"):
    """Logistic regression with a random intercept for each level of `group`, fitted by variational Bayes.

    `fit_vb` starts from fixed values, so the same data give the same estimates: no seed is needed. The fixed
    effects' posterior means and standard deviations play the part of estimates and standard errors; being a
    mean-field approximation, it understates the uncertainty of terms correlated with others (compare with
    `fit_logit`).
    """
    data = complete_cases(frame, model_formula, group)
    model = BinomialBayesMixedGLM.from_formula(model_formula, {group: f"0 + C({group})"}, data)
    return model.fit_vb()


def complete_cases(frame: pd.DataFrame, model_formula: str, *more: str) -> pd.DataFrame:
    """The rows with no missing value in the columns a formula (and `more` columns) uses.

    The mixed GLM builds its fixed and random parts separately and fails if the fixed part drops rows with
    missing values that the random part keeps, so the rows are chosen once, here.
    """
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", model_formula)) | set(more)
    used = [c for c in frame.columns if c in names]
    return frame.dropna(subset=used).reset_index(drop=True)


def fit_mixed_length(frame: pd.DataFrame, model_formula: str, group: str = "court"):
    """Linear mixed model (random intercept for `group`) fitted by REML, for log sentence length."""
    return smf.mixedlm(model_formula, frame, groups=frame[group]).fit(reml=True)


def tidy(result, digits: int = 3) -> pd.DataFrame:
    """The fixed-effect coefficients of a fitted model: term, estimate, std_error and a 95% interval.

    Works for statsmodels results with `params` and `bse` (logit, mixedlm) and for the variational Bayes mixed
    GLM (`fe_mean`, `fe_sd`). Rounded so that tables in the book are stable.
    """
    if hasattr(result, "fe_mean"):
        names = result.model.exog_names
        est = pd.Series(result.fe_mean, index=names)
        se = pd.Series(result.fe_sd, index=names)
    else:
        est, se = result.params, result.bse
        keep = [n for n in est.index if not n.endswith(" Var")]  # mixedlm's variance parameters
        est, se = est[keep], se[keep]
    out = pd.DataFrame(
        {
            "term": est.index,
            "estimate": est.to_numpy(float),
            "std_error": se.to_numpy(float),
        }
    )
    out["ci_low"] = out["estimate"] - Z95 * out["std_error"]
    out["ci_high"] = out["estimate"] + Z95 * out["std_error"]
    return out.round(digits).reset_index(drop=True)


def ethnicity_effects(table: pd.DataFrame) -> pd.DataFrame:
    """The ethnicity rows of a `tidy` table, with the group name, in the order of ETHNIC_GROUPS."""
    pattern = re.compile(r"^C\(ethnicity.*\)\[T\.(.+)\]$")
    rows = table[table["term"].str.match(pattern)].copy()
    rows.insert(0, "group", rows["term"].str.extract(pattern, expand=False))
    order = {g: i for i, g in enumerate(ETHNIC_GROUPS)}
    rows = rows.sort_values("group", key=lambda s: s.map(order)).drop(columns="term")
    return rows.reset_index(drop=True)


def true_log_odds() -> dict[str, float]:
    """The built-in effect: log-odds of immediate custody at the Crown Court by group against White
    (synthetic/effects.yaml, `crown_custody_ethnicity`)."""
    return {k: float(v) for k, v in load_yaml("effects.yaml")["crown_custody_ethnicity"]["log_odds"].items()}


def compare_with_truth(effects: pd.DataFrame, truth: dict[str, float]) -> pd.DataFrame:
    """Each group's true value beside its estimate and interval, and whether the interval covers the truth."""
    out = effects[["group"]].copy()
    out["true"] = out["group"].map(truth)
    out = pd.concat([out, effects[["estimate", "ci_low", "ci_high"]]], axis=1)
    out["covers_truth"] = (out["ci_low"] <= out["true"]) & (out["true"] <= out["ci_high"])
    return out
