"""Journeys through the justice system, built on the linkage output: person timelines and returning defendants.

`timeline` stacks the dated events of every linked dataset (definitions in `synthetic/timeline.yaml`) into one
table keyed on a person id; `returning` measures returning defendants on such a table. Both take the person key
as an argument, so that an analysis on the cross-justice id `estimated_xjs_id` can be repeated on the truth
(`person_id`) to measure what linkage errors do to it. `pathways` follows a cohort's cases from the magistrates'
court to disposal, prison, probation and recall; `survival` measures the time to re-entry after a sentence.
"""

from __future__ import annotations

from sdfirst.journeys.pathways import pathways, plot_alluvial, sequences, stage_flows, transitions
from sdfirst.journeys.returning import (
    RETURN_BANDS,
    Cohort,
    published_figures,
    return_rates_by_group,
    returned_by_year,
    returned_pct,
    returns_distribution,
    returns_sql,
)
from sdfirst.journeys.survival import (
    at_risk,
    cox_model,
    hazard_ratios,
    kaplan_meier,
    plot_km,
    survival_at,
    survival_table,
)
from sdfirst.journeys.timeline import (
    ESTIMATED,
    TRUTH,
    EventSource,
    build_timeline,
    event_sources,
    person_summary,
    timeline_sql,
)

__all__ = [
    "ESTIMATED",
    "RETURN_BANDS",
    "TRUTH",
    "Cohort",
    "EventSource",
    "at_risk",
    "build_timeline",
    "cox_model",
    "event_sources",
    "hazard_ratios",
    "kaplan_meier",
    "pathways",
    "person_summary",
    "plot_alluvial",
    "plot_km",
    "published_figures",
    "return_rates_by_group",
    "returned_by_year",
    "returned_pct",
    "returns_distribution",
    "returns_sql",
    "sequences",
    "stage_flows",
    "survival_at",
    "survival_table",
    "timeline_sql",
    "transitions",
]
