"""The standard error of every calibration figure at the folder's size, and which figures are too noisy to judge.

A synthetic figure moves with the seed, and the smaller the folder (or the group a figure is about) the further.
Set beside its published value and tolerance, a figure says something only when its standard error is small
against the tolerance: the rule (``standard_errors.too_noisy_multiple`` in calibration.yaml, 2) calls a figure
*too noisy to judge* when that many standard errors exceed its tolerance. With the multiple at 2, a generator whose
figure sits exactly on the published value would still miss in about 5% of folders when the standard error is
half the tolerance, and more often beyond; and a figure a whole tolerance away would pass half the time, so
neither a miss nor a hit would mean much.

The standard error of a figure that is a share of people (its metric returns a :class:`~sdfirst.calibration.Share`)
is binomial, ``100 * sqrt(p (1 - p) / n)`` for a percentage, with the Agresti-Coull adjustment (two people added on
each side: ``p = (x + 2) / (n + 4)``, ``n + 4`` people) so that a share of 0% or 100% of a handful of people does
not claim a standard error of zero. People in the simulation are drawn independently, so each counts once. Every
figure that is a ratio over clusters of records (its metric returns a :class:`~sdfirst.calibration.Clustered`:
the serious and organised crime shares, whose defendants come in cases) carries its own error, the linearised
standard error of a ratio of cluster totals (:func:`ratio_error`), as a survey's ratio estimator over clusters. A
most common age (a :class:`~sdfirst.calibration.Modal` figure) carries a bootstrap error (:func:`mode_error`):
people redrawn from the folder's own counts at each age, the same draws on every machine. Every other figure (rates
per population, ratios) gets the random groups standard error of :mod:`sdfirst.calibration.replicates`, from
``standard_errors.groups`` groups of the folder's people; only those figures are recomputed on the groups.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sdfirst.calibration import Result, evaluate_connection
from sdfirst.calibration.replicates import Estimate, group_connection, standard_error
from sdfirst.database import connect
from sdfirst.specs import load_yaml


def _settings() -> dict:
    return load_yaml("calibration.yaml")["standard_errors"]


def too_noisy_multiple() -> float:
    """How many standard errors may exceed the tolerance before a figure is too noisy to judge."""
    return float(_settings()["too_noisy_multiple"])


def binomial_error(percent: float, people: int) -> float:
    """The Agresti-Coull standard error (in percentage points) of a percentage of ``people`` people."""
    if math.isnan(percent) or people < 0:
        return math.nan
    count = percent / 100 * people
    share = (count + 2) / (people + 4)
    return 100 * math.sqrt(share * (1 - share) / (people + 4))


def ratio_error(numerators: np.ndarray, denominators: np.ndarray, scale: float = 100.0) -> float:
    """The standard error of ``scale * sum(numerators) / sum(denominators)`` over clusters (one element each), by
    linearisation: clusters are independent, the records within one are not (co-defendants share a case's flag),
    so the cluster is the unit, ``sqrt(K / (K - 1) * sum((y - R x) ** 2)) / sum(x)`` for K clusters."""
    y, x = np.asarray(numerators, float), np.asarray(denominators, float)
    if len(x) < 2 or x.sum() <= 0:
        return math.nan
    ratio = y.sum() / x.sum()
    residual = y - ratio * x
    return scale * math.sqrt(len(x) / (len(x) - 1) * float(residual @ residual)) / x.sum()


def _modes(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The most common value of each row of ``counts`` (one count per value of ``values``): the mean of the values
    tied for the most, so that a tie is settled the same way on every machine and thread count, as SQL's ``mode``
    does not promise, and favours neither of the tied values."""
    top = counts == counts.max(axis=-1, keepdims=True)
    return (top * values).sum(axis=-1) / top.sum(axis=-1)


def most_common(values: np.ndarray, counts: np.ndarray) -> float:
    """The value with the most counts (the mean of those tied); NaN when there are none."""
    values, counts = np.asarray(values, dtype=float), np.asarray(counts, dtype=np.int64)
    return float(_modes(values, counts)) if counts.sum() > 0 else math.nan


def mode_error(values: np.ndarray, counts: np.ndarray) -> float:
    """The bootstrap standard error of :func:`most_common`: ``standard_errors.bootstrap.draws`` samples of as many
    people as ``counts`` holds, drawn from its own shares (a multinomial draw is a resample of the people when only
    their values matter), each sample's most common value, and their standard deviation. The draws start from
    ``standard_errors.bootstrap.seed``, so the error is the same on every machine and every run."""
    values, counts = np.asarray(values, dtype=float), np.asarray(counts, dtype=np.int64)
    people = int(counts.sum())
    if people < 2:
        return math.nan
    settings = _settings()["bootstrap"]
    rng = np.random.default_rng(int(settings["seed"]))
    samples = rng.multinomial(people, counts / people, size=int(settings["draws"]))
    return float(np.std(_modes(values, samples), ddof=1))


def _binomial(result: Result) -> Estimate:
    return Estimate(result, binomial_error(result.synthetic, result.people), None, "binomial")


def standard_errors(folder: str | Path, groups: int | None = None) -> list[Estimate]:
    """Every calibration figure on ``folder``, with its standard error: binomial for the shares of people, from
    ``groups`` random groups (calibration.yaml's, 10, unless given) for the rest."""
    groups = int(_settings()["groups"]) if groups is None else groups
    whole = evaluate_connection(connect(folder))
    grouped = {r.id for r in whole if r.people is None and r.own_error is None and r.available}
    by_group = []
    if grouped:
        by_group = [
            {r.id: r.synthetic for r in evaluate_connection(group_connection(folder, groups, g), only=grouped)}
            for g in range(groups)
        ]
    out = []
    for result in whole:
        if result.people is not None:
            out.append(_binomial(result))
        elif result.own_error is not None:
            out.append(Estimate(result, result.own_error, None, result.own_method))
        elif result.id in grouped:
            out.append(Estimate(result, standard_error([values[result.id] for values in by_group]), groups))
        else:  # no figure (a dataset the run did not write): no error either
            out.append(Estimate(result, math.nan, groups))
    return out


def method_line(found: list[Estimate]) -> str:
    """One sentence saying how the standard errors of ``found`` were computed."""
    groups = sorted({e.groups for e in found if e.groups is not None})
    parts = []
    if any(e.method == "binomial" for e in found):
        parts.append("binomial (Agresti-Coull) for the shares of people")
    if any(e.method == "clusters" for e in found):
        parts.append("over Crown Court cases for the shares of records that come in cases (clusters)")
    if any(e.method == "bootstrap" for e in found):
        parts.append("by the bootstrap for the most common ages (bootstrap)")
    if groups:
        count = groups[0]
        parts.append(
            f"for the other figures, the spread of the figure over {count} random groups of the folder's people "
            f"divided by the square root of {count} (groups/{count})"
        )
    return "Standard errors: " + "; ".join(parts) + "."
