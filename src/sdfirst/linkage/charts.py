"""Static (matplotlib) versions of Splink's match-weights and waterfall charts, and the tables behind them.

Splink draws its charts with Vega-Lite, which loads JavaScript from the internet; the course must work offline, so
the book draws the same two charts with matplotlib from Splink's own numbers:

- the match-weights chart: one bar per comparison level, its partial match weight log2(m / u);
- the waterfall chart: how one pair's match weight is built up, from the prior and each comparison's partial weight.

The tables are plain pandas DataFrames, so that a reader can look at the numbers a chart shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

POSITIVE = "#2f855a"  # evidence for a match
NEGATIVE = "#c53030"  # evidence against
TOTAL = "#2b6cb0"


def probability_to_weight(probability: float) -> float:
    """The match weight log2(p / (1 - p)) of a probability: how Splink puts the prior on the same scale as evidence."""
    return math.log2(probability / (1 - probability))


def weight_to_probability(weight: float) -> float:
    """The match probability 2^w / (1 + 2^w) of a match weight (written to avoid overflow at large |w|)."""
    if weight >= 0:
        return 1 / (1 + 2.0**-weight)
    return 2.0**weight / (1 + 2.0**weight)


def match_weights_table(model: Mapping[str, Any]) -> pd.DataFrame:
    """One row per comparison level of a Splink model (as from `linker.misc.save_model_to_json()`), in model order.

    Columns: comparison, level (Splink's label), gamma (the comparison vector value Splink gives the level in its
    `gamma_` columns: -1 for the null level, then counting down to 0 for the last), m_probability, u_probability,
    bayes_factor (m / u), match_weight (log2 of it) and tf_adjustment_column (the column whose term frequencies
    adjust the level's weight, or None). Null levels are kept, with a Bayes factor of 1 and a weight of 0, because a
    missing value is no evidence either way.
    """
    rows = []
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        gamma = sum(not level.get("is_null_level", False) for level in levels) - 1
        for level in levels:
            is_null = level.get("is_null_level", False)
            m, u = level.get("m_probability"), level.get("u_probability")
            if is_null:
                bayes_factor = 1.0
            elif m is None or u is None or u == 0:
                bayes_factor = math.nan
            else:
                bayes_factor = m / u
            rows.append(
                {
                    "comparison": comparison["output_column_name"],
                    "level": level["label_for_charts"],
                    "gamma": -1 if is_null else gamma,
                    "m_probability": math.nan if m is None else float(m),
                    "u_probability": math.nan if u is None else float(u),
                    "bayes_factor": bayes_factor,
                    "match_weight": 0.0 if is_null else (math.log2(bayes_factor) if bayes_factor > 0 else -math.inf),
                    "tf_adjustment_column": level.get("tf_adjustment_column"),
                }
            )
            if not is_null:
                gamma -= 1
    return pd.DataFrame(rows)


def waterfall_steps(prior_weight: float, partial_weights: Mapping[str, float]) -> pd.DataFrame:
    """The bars of a waterfall chart: the prior, then each partial weight added in turn (in the mapping's order).

    Columns: step, weight (the bar's height, signed), start and end (the running total before and after it). The
    last row's `end` is the pair's match weight: the prior weight plus every partial weight.
    """
    steps = [("prior", float(prior_weight)), *((name, float(w)) for name, w in partial_weights.items())]
    rows, total = [], 0.0
    for name, weight in steps:
        rows.append({"step": name, "weight": weight, "start": total, "end": total + weight})
        total += weight
    return pd.DataFrame(rows)


def _new_axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # imported here: only the book's plotting needs matplotlib

    _fig, new = plt.subplots(figsize=size)
    return new


def plot_match_weights(table: pd.DataFrame, prior_weight: float, ax: Axes | None = None) -> Axes:
    """A horizontal bar per non-null comparison level of `match_weights_table`, with the prior's weight on top.

    Bars to the right are evidence for a match, to the left against; comparisons are separated by gaps, in the
    table's order, as in Splink's own match-weights chart. Weights beyond +/-20 (a level never or always seen among
    matches) are cut at the axis edge and labelled with their value.
    """
    levels = table[table["gamma"] >= 0]
    labels, weights, positions, y = ["prior (two random records match)"], [prior_weight], [0.0], 0.0
    for _comparison, group in levels.groupby("comparison", sort=False):
        y += 0.6  # a gap between comparisons
        for row in group.itertuples():
            y += 1
            labels.append(f"{row.comparison}: {row.level}")
            weights.append(row.match_weight)
            positions.append(y)
    ax = _new_axes(ax, (8, 0.26 * len(labels) + 1))
    limit = 20.0
    shown = [max(-limit, min(limit, w)) for w in weights]
    colours = [TOTAL] + [POSITIVE if w >= 0 else NEGATIVE for w in weights[1:]]
    ax.barh(positions, shown, color=colours, height=0.8)
    for pos, weight, bar in zip(positions, weights, shown, strict=True):
        if abs(weight) > limit:  # the true value, inside the end of the cut bar
            ax.annotate(
                f"{weight:.0f}",
                (bar, pos),
                fontsize=7,
                va="center",
                ha="right" if weight > 0 else "left",
                color="white",
            )
    ax.set_yticks(positions, labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(-limit - 3, limit + 3)
    ax.set_xlabel("match weight = log2(m / u)")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_waterfall(steps: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """A waterfall chart of `waterfall_steps`: a floating bar per step, then a bar for the total match weight.

    Each bar runs from the running total before its step to the total after it, so the bars' signed heights add up
    to the final bar. The title gives the match probability that the total weight stands for.
    """
    ax = _new_axes(ax, (7.5, 3.6))
    total = float(steps["end"].iloc[-1]) if len(steps) else 0.0
    x = list(range(len(steps)))
    colours = [TOTAL] + [POSITIVE if w >= 0 else NEGATIVE for w in steps["weight"].iloc[1:]]
    ax.bar(x, steps["weight"], bottom=steps["start"], color=colours[: len(steps)], width=0.7)
    ax.bar([len(steps)], [total], color=TOTAL, width=0.7, hatch="//", edgecolor="white")
    for i, row in enumerate(steps.itertuples()):
        ax.annotate(f"{row.weight:+.2f}", (i, max(row.start, row.end)), ha="center", va="bottom", fontsize=7)
    ax.annotate(f"{total:.2f}", (len(steps), max(total, 0)), ha="center", va="bottom", fontsize=7)
    ax.set_xticks([*x, len(steps)], [*steps["step"], "total"], rotation=30, ha="right", fontsize=8)
    ax.axhline(0, color="black", linewidth=0.8)
    values = [0.0, total, *steps["start"], *steps["end"]]
    pad = 0.1 * (max(values) - min(values) or 1.0)  # room for the labels (bars' sticky edges defeat ax.margins)
    ax.set_ylim(min(values) - pad, max(values) + pad)
    ax.set_ylabel("match weight")
    ax.set_title(f"match weight {total:.2f}, match probability {weight_to_probability(total):.4f}", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return ax
