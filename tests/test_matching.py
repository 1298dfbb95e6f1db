"""Propensity-score matching on hand-made cases and on a simulated frame with a known effect and confounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdfirst.analysis.matching import (
    balance_table,
    bootstrap_pairs,
    logit,
    match_nearest,
    matched_difference,
    matched_ratio,
    naive_difference,
    propensity_scores,
    standardised_mean_difference,
)


def test_smd_on_a_hand_made_case():
    # means 2 and 1; sample variances 1 and 1 -> pooled sd 1 -> SMD 1
    assert standardised_mean_difference([1, 2, 3], [0, 1, 2]) == pytest.approx(1.0)
    # variances 4 and 0: pooled sd sqrt(2); difference 2 -> sqrt(2)
    assert standardised_mean_difference([0, 2, 4], [0, 0, 0]) == pytest.approx(2 / np.sqrt(2))
    assert standardised_mean_difference([5, 5], [5, 5]) == 0.0


def test_matching_takes_the_nearest_control_within_the_caliper():
    score = np.array([0.0, 1.0, 5.0, 0.1, 1.05, 0.9, 9.0])
    treated = np.array([1, 1, 1, 0, 0, 0, 0], dtype=bool)
    pairs = match_nearest(score, treated, caliper=0.2, seed=0).sort_values("treated").reset_index(drop=True)
    # treated 2 (score 5) has no control within 0.2; each control is used once
    assert pairs.to_dict("list") == {"treated": [0, 1], "control": [3, 4]}
    assert match_nearest(score, treated, caliper=0.2, seed=0).equals(match_nearest(score, treated, 0.2, seed=0))


def test_matching_refuses_missing_scores():
    with pytest.raises(ValueError, match="missing propensity"):
        match_nearest(np.array([0.1, np.nan]), np.array([True, False]), caliper=1.0)


def _confounded(n: int = 6000, effect: float = 0.10, seed: int = 3) -> pd.DataFrame:
    """x raises both the chance of treatment and the outcome; the treatment adds `effect` to P(outcome)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = rng.integers(0, 2, n)
    treated = (rng.random(n) < 1 / (1 + np.exp(-(-0.3 + 1.2 * x)))).astype(int)
    p = np.clip(0.25 + 0.12 * x + 0.05 * group + effect * treated, 0.01, 0.99)
    return pd.DataFrame(
        {"x": x, "group": np.where(group == 1, "b", "a"), "treated": treated, "y": (rng.random(n) < p).astype(int)}
    )


def test_matching_recovers_a_known_effect_under_confounding():
    frame = _confounded()
    naive = naive_difference(frame, "treated", "y")
    assert naive["estimate"] > 0.10 + 0.08  # the confounding inflates the naive difference
    score = logit(propensity_scores(frame, "treated", ["x", "C(group)"]))
    pairs = match_nearest(score, frame["treated"].to_numpy(), caliper=0.2 * score.std(), seed=1)
    matched = matched_difference(frame, pairs, "y")
    assert matched["estimate"] == pytest.approx(0.10, abs=0.04)
    assert matched["ci_lower"] < 0.10 < matched["ci_upper"]
    boot = bootstrap_pairs(frame, pairs, "y", reps=300, seed=2)
    assert boot["ci_lower"] < matched["estimate"] < boot["ci_upper"]
    balance = balance_table(frame, "treated", ["x", "group"], pairs).set_index("covariate")
    assert abs(balance.loc["x", "smd_before"]) > 0.5
    assert (balance["smd_after"].abs() < 0.1).all()


def test_a_tie_goes_to_the_control_that_comes_first_even_when_rounding_says_otherwise():
    # controls at 1.1 and 0.9 are equally far from 1.0, but in floating point 0.9 is nearer by 1e-16
    assert abs(0.9 - 1.0) < abs(1.1 - 1.0)
    pairs = match_nearest(np.array([1.0, 1.1, 0.9]), np.array([True, False, False]), caliper=0.5)
    assert pairs.to_dict("list") == {"treated": [0], "control": [1]}


def test_matching_does_not_depend_on_the_last_digits_of_the_coefficients():
    """Coefficients that differ in their 13th digit (another machine's linear algebra) give the same pairs.

    With an integer covariate of small effect, many controls lie the same distance either side of a treated person;
    compared in floating point, which one is nearer turned on the coefficients' last digits, and so did the effect.
    """
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame({"age": rng.integers(18, 70, n), "group": rng.choice(["a", "b", "c"], n)})
    frame["treated"] = (rng.random(n) < 1 / (1 + np.exp(-(-0.5 + 0.002 * frame["age"])))).astype(int)
    frame["y"] = (rng.random(n) < 0.3).astype(int)
    design = pd.get_dummies(frame[["age", "group"]], drop_first=True, dtype=float).assign(const=1.0).to_numpy()
    beta = np.linalg.lstsq(design, np.log(0.4 / 0.6) + 0.002 * frame["age"].to_numpy(), rcond=None)[0]
    results = set()
    for k in range(30):
        noisy = beta * (1 + 1e-13 * np.random.default_rng(k).standard_normal(len(beta)))
        score = design @ noisy
        pairs = match_nearest(score, frame["treated"].to_numpy(), caliper=0.2 * score.std(), seed=1)
        results.add(tuple(map(tuple, pairs.to_numpy())))
    assert len(results) == 1


def test_the_matched_ratio_on_a_hand_made_case():
    """Treated counts 1, 2, 3 against controls 2, 2, 2: the ratio of means is 1; with the treated doubled, 2. The
    interval is the delta method's on the log scale:
    var(log R) = (var t / mt^2 + var c / mc^2 - 2 cov / (mt mc)) / n."""
    frame = pd.DataFrame({"y": [1, 2, 3, 2, 2, 2]})
    pairs = pd.DataFrame({"treated": [0, 1, 2], "control": [3, 4, 5]})
    found = matched_ratio(frame, pairs, "y")
    se = np.sqrt((1 / 4) / 3)  # var t = 1, mt = 2; the controls do not vary
    assert found["estimate"] == pytest.approx(1.0)
    assert found["ci_lower"] == pytest.approx(np.exp(-1.959964 * se), rel=1e-5)
    assert found["ci_upper"] * found["ci_lower"] == pytest.approx(1.0)
    doubled = matched_ratio(pd.DataFrame({"y": [2, 4, 6, 2, 2, 2]}), pairs, "y")
    assert doubled["estimate"] == pytest.approx(2.0)
    assert doubled["ci_upper"] / doubled["estimate"] == pytest.approx(found["ci_upper"])  # the same relative spread


def test_the_matched_ratio_recovers_a_rate_ratio():
    """Poisson counts with rate 0.8 for the treated and 1.0 for their pairs: the ratio is about 0.8, inside its
    interval; and a group whose counts are all 0 has no ratio."""
    rng = np.random.default_rng(5)
    n = 4000
    frame = pd.DataFrame({"y": np.r_[rng.poisson(0.8, n), rng.poisson(1.0, n)]})
    pairs = pd.DataFrame({"treated": np.arange(n), "control": np.arange(n, 2 * n)})
    found = matched_ratio(frame, pairs, "y")
    assert found["estimate"] == pytest.approx(0.8, abs=0.05)
    assert found["ci_lower"] < 0.8 < found["ci_upper"]
    with pytest.raises(ValueError, match="mean of y is 0"):
        matched_ratio(pd.DataFrame({"y": [0, 0, 1, 1]}), pd.DataFrame({"treated": [0, 1], "control": [2, 3]}), "y")
