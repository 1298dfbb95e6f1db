"""Segmented regression for an interrupted time series, on a simulated series with a known step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdfirst.analysis.its import counterfactual, its_design, its_effects, segmented_regression


def test_design_on_a_hand_made_case():
    months = pd.date_range("2019-02-01", periods=5, freq="MS")
    design = its_design(months, "2019-04-01")
    assert design["time"].tolist() == [0, 1, 2, 3, 4]
    assert design["post"].tolist() == [0, 0, 1, 1, 1]
    assert design["time_since"].tolist() == [0, 0, 0, 1, 2]
    assert design["calendar_month"].tolist() == [2, 3, 4, 5, 6]


def test_segmented_regression_recovers_a_known_step():
    rng = np.random.default_rng(5)
    months = pd.date_range("2015-01-01", periods=84, freq="MS")
    post = months >= pd.Timestamp("2019-05-01")
    expected = 100 * np.exp(0.004 * np.arange(84)) * np.where(post, 1.5, 1.0)
    frame = pd.DataFrame({"month": months, "count": rng.poisson(expected)})
    result = segmented_regression(frame, "count", "2019-05-01")
    effects = its_effects(result).set_index("effect")
    level = effects.loc["level change (rate ratio)"]
    assert level["estimate"] == pytest.approx(1.5, rel=0.08)
    assert level["ci_lower"] < 1.5 < level["ci_upper"]
    assert effects.loc["slope change (ratio per month)", "estimate"] == pytest.approx(1.0, abs=0.01)
    # without the interruption the fitted line continues the trend before it
    baseline = counterfactual(result, frame, "2019-05-01")
    assert baseline[-1] == pytest.approx(100 * np.exp(0.004 * 83), rel=0.1)
