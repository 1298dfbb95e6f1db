"""The book's static match-weights and waterfall charts (sdfirst.linkage.charts), on hand-made models."""

from __future__ import annotations

import math

import pytest

from sdfirst.linkage.charts import (
    match_weights_table,
    plot_match_weights,
    plot_waterfall,
    probability_to_weight,
    waterfall_steps,
    weight_to_probability,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# A two-comparison model in the shape of Splink's save_model_to_json(), with weights easy to check by hand.
MODEL = {
    "probability_two_random_records_match": 1 / 9,
    "comparisons": [
        {
            "output_column_name": "surname",
            "comparison_levels": [
                {"label_for_charts": "surname is NULL", "is_null_level": True},
                {
                    "label_for_charts": "exact",
                    "m_probability": 0.8,
                    "u_probability": 0.1,
                    "tf_adjustment_column": "surname",
                },
                {"label_for_charts": "close", "m_probability": 0.15, "u_probability": 0.3},  # 1/2
                {"label_for_charts": "else", "m_probability": 0.05, "u_probability": 0.6},
            ],
        },
        {
            "output_column_name": "sex",
            "comparison_levels": [
                {"label_for_charts": "exact", "m_probability": 1.0, "u_probability": 0.5},  # 2 = 2^1
                {"label_for_charts": "else", "m_probability": 0.0, "u_probability": 0.5},
            ],
        },
    ],
}


def test_probability_and_weight_are_inverse():
    assert probability_to_weight(0.5) == 0
    assert probability_to_weight(0.8) == pytest.approx(2)  # odds of 4 to 1
    assert weight_to_probability(2) == pytest.approx(0.8)
    assert weight_to_probability(-2) == pytest.approx(0.2)
    for w in (-40.0, -3.3, 0.0, 1.7, 40.0):
        assert probability_to_weight(weight_to_probability(w)) == pytest.approx(w)
    assert weight_to_probability(-5000) == 0.0  # no overflow far out
    assert weight_to_probability(5000) == 1.0


def test_match_weights_table_by_hand():
    table = match_weights_table(MODEL)
    assert list(table["comparison"]) == ["surname"] * 4 + ["sex"] * 2
    # Splink's comparison vector values: null -1, then counting down to 0
    assert list(table["gamma"]) == [-1, 2, 1, 0, 1, 0]
    assert list(table["match_weight"].iloc[:3]) == pytest.approx([0.0, 3.0, -1.0])  # log2(0.8 / 0.1) = 3
    assert table["bayes_factor"].iloc[4] == pytest.approx(2.0)
    assert table["match_weight"].iloc[5] == -math.inf  # never seen among matches: conclusive evidence against
    assert math.isnan(table["m_probability"].iloc[0])  # the null level has no parameters
    assert list(table["tf_adjustment_column"]) == [None, "surname", None, None, None, None]


def test_waterfall_steps_add_up_to_the_match_weight():
    prior = probability_to_weight(MODEL["probability_two_random_records_match"])  # log2(1/8) = -3
    steps = waterfall_steps(prior, {"surname": 3.0, "sex": 1.0, "postcode": -0.5})
    assert list(steps["step"]) == ["prior", "surname", "sex", "postcode"]
    assert prior == pytest.approx(-3)
    assert steps["end"].iloc[-1] == pytest.approx(0.5)
    assert steps["weight"].sum() == pytest.approx(steps["end"].iloc[-1])
    # each bar starts where the last ended
    assert list(steps["start"].iloc[1:]) == pytest.approx(list(steps["end"].iloc[:-1]))


def test_waterfall_bar_heights_sum_to_the_total():
    steps = waterfall_steps(-3.0, {"surname": 3.0, "sex": 1.0, "postcode": -0.5})
    fig, ax = plt.subplots()
    plot_waterfall(steps, ax=ax)
    heights = [bar.get_height() for bar in ax.patches]
    assert len(heights) == len(steps) + 1
    assert sum(heights[:-1]) == pytest.approx(heights[-1]) == pytest.approx(0.5)
    assert [bar.get_y() for bar in ax.patches[:-1]] == pytest.approx(list(steps["start"]))
    assert "probability 0.5858" in ax.get_title()  # 2^0.5 / (1 + 2^0.5)
    plt.close(fig)


def test_match_weights_chart_has_a_bar_per_level_and_the_prior():
    table = match_weights_table(MODEL)
    fig, ax = plt.subplots()
    plot_match_weights(table, prior_weight=-3.0, ax=ax)
    widths = [bar.get_width() for bar in ax.patches]
    assert len(widths) == 1 + 5  # the prior and the five non-null levels
    assert widths[:3] == pytest.approx([-3.0, 3.0, -1.0])
    assert widths[-1] == -20  # -inf is cut at the axis edge
    plt.close(fig)
