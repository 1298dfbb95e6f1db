"""Sentencing: the disposal passed on each conviction, and the length of a custodial sentence or order, or a fine.

The court chooses in a fixed order: immediate custody (logistic in the offence's severity, previous cases, the
court, remand, group offending and, at the Crown Court only, ethnicity through the documented effect in
effects.yaml), then a
suspended sentence, then a community order (a youth rehabilitation or referral order for under-18s), then a fine or
a discharge. Every rate is in justice.yaml (`sentencing`); the disposals are the code list `disposals`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdfirst.specs import load_yaml
from sdfirst.synth.codes import code_list
from sdfirst.synth.population import ethnicity_table


@dataclass(frozen=True)
class Convictions:
    """What the court knows of each conviction when it passes sentence (one row per conviction to sentence)."""

    person: np.ndarray  # chunk-local person index
    severity: np.ndarray  # 1 (least) to 5 (most serious), of the principal offence
    motoring: np.ndarray  # a summary motoring offence
    youth: np.ndarray  # under 18 at the first hearing
    crown: np.ndarray  # sentenced at the Crown Court
    remanded: np.ndarray  # remanded in custody before trial
    previous: np.ndarray  # the person's earlier cases
    co_defendants: np.ndarray  # the offence was committed with others (a case with co-defendants)


@dataclass(frozen=True)
class Sentences:
    """The sentence passed on each conviction, row for row."""

    disposal: np.ndarray  # int8 index into the code list `disposals`
    length_days: np.ndarray  # immediate or suspended custody, or a community order; 0 for the rest
    fine: np.ndarray  # pounds, NaN unless fined


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def pass_sentences(rng: np.random.Generator, world, c: Convictions) -> Sentences:
    """The disposal, custody or order length and fine of each conviction, drawn from the court's stream `rng`."""
    s = load_yaml("justice.yaml")["sentencing"]
    disposals = code_list("disposals")
    severity, youth, crown, previous = c.severity, c.youth, c.crown, c.previous
    n = len(c.person)
    _, _, broad, _ = ethnicity_table()
    effect = load_yaml("effects.yaml")["crown_custody_ethnicity"]["log_odds"]
    eth_effect = np.array([effect[b] for b in broad])[world.people.ethnicity[c.person]]
    prev = np.minimum(previous, s["custody_previous_cap"])
    logit = (
        s["custody_intercept"]
        + s["custody_severity"] * severity
        + s["custody_previous"] * prev
        + s["custody_crown"] * crown
        + s["custody_remanded"] * c.remanded
        + crown * eth_effect
        + s["group_offending"]["custody_log_odds"] * c.co_defendants
        + np.log(np.where(youth, s["youth"]["custody_factor"], 1.0))
    )
    custody = rng.random(n) < logistic(logit)
    suspended = (
        ~custody
        & ~youth
        & (
            rng.random(n)
            < logistic(s["suspended_intercept"] + s["suspended_severity"] * severity + s["suspended_crown"] * crown)
        )
    )
    community = (
        ~custody
        & ~suspended
        & (
            rng.random(n)
            < logistic(s["community_intercept"] + s["community_severity"] * severity + s["community_previous"] * prev)
        )
    )
    rest = ~custody & ~suspended & ~community
    fine_share = np.where(c.motoring, s["motoring_fine"], s["fine_share_of_rest"])
    fine = rest & (rng.random(n) < fine_share)
    discharge = rest & ~fine
    absolute = discharge & (rng.random(n) < s["absolute_discharge_share"])
    disposal = np.full(n, disposals["conditional_discharge"], dtype=np.int8)
    disposal[absolute] = disposals["absolute_discharge"]
    disposal[fine] = disposals["fine"]
    disposal[community] = np.where(
        youth[community], disposals["youth_rehabilitation_order"], disposals["community_order"]
    )
    first_youth = youth & (previous == 0) & community
    disposal[first_youth & (rng.random(n) < s["youth"]["referral_order_first"])] = disposals["referral_order"]
    disposal[suspended] = disposals["suspended_sentence"]
    disposal[custody] = disposals["immediate_custody"]
    median = np.array(s["custody_median_days"])[severity - 1]
    group_factor = np.where(c.co_defendants, s["group_offending"]["length_factor"], 1.0)
    length = np.round(group_factor * median * np.exp(s["custody_sigma"] * rng.standard_normal(n))).astype(np.int32)
    length = np.where(
        crown,
        length,
        np.minimum(length, load_yaml("justice.yaml")["courts"]["magistrates"]["max_custody_days"]),
    )
    lo, hi = s["suspended_days"]
    length = np.where(suspended, rng.integers(lo, hi + 1, n), length)
    lo, hi = s["community_days"]
    length = np.where(community, rng.integers(lo, hi + 1, n), length)
    length = np.where(custody | suspended | community, np.maximum(length, 1), 0).astype(np.int32)
    amount = np.where(fine, np.round(s["fine_median"] * np.exp(s["fine_sigma"] * rng.standard_normal(n)), 0), np.nan)
    return Sentences(disposal, length, amount)
