"""Pathways through the criminal justice system: from a magistrates' case to its disposal, prison, probation, recall.

For a cohort of defendants (each person's first magistrates' case in a year), every case is followed through the
stages the linked data can show: sent to the Crown Court or not (the case-level link, ``linking.mags_crown_journey``),
the disposal, a prison reception and release (``prison.custodial_journey``), probation supervision
(``probation.flatfile``) and recall. Records of other datasets are joined to the case through the person, and the
person is the linkage output's cross-justice id (``estimated_xjs_id``), as a researcher in the secure environment
would have it. The truth (``person_id``) can be asked for instead, only to measure what linkage errors change.

The result is one row per person, which :func:`transitions`, :func:`stage_flows` and :func:`sequences` count, and
:func:`plot_alluvial` draws with matplotlib alone (a static image that needs no internet).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import duckdb
import pandas as pd

from sdfirst.exceptions import DataFirstError
from sdfirst.journeys.timeline import ESTIMATED, TRUTH, source_person_keys_sql

#: Linkage source codes of the tables a pathway reads (the codes of linking.xjs_link; tables in linkage.yaml).
SOURCES = ("mags_hocas", "crown_xhibit", "prison_nomis", "probation_delius")

#: Disposal groups: the court's disposal label -> the group a pathway shows.
DISPOSAL_GROUPS = {
    "Immediate custody": "Custody",
    "Suspended sentence order": "Suspended sentence",
    "Community order": "Community order",
    "Fine": "Fine",
    "Conditional discharge": "Discharge",
    "Absolute discharge": "Discharge",
}
#: Every disposal group, in the order charts show them.
DISPOSAL_ORDER = (
    "Custody",
    "Suspended sentence",
    "Community order",
    "Fine",
    "Discharge",
    "Other",
    "Not convicted",
    "Not known",
)
#: Days after the sentence within which a prison reception or a probation referral still belongs to the case.
GRACE_DAYS = 14
PROBATION_WINDOW_DAYS = 60
#: The columns of a pathway, in stage order, with the values each can take (the order charts show them in).
STAGES: dict[str, tuple[str, ...]] = {
    "court": ("Crown Court", "Magistrates' court"),
    "disposal": DISPOSAL_ORDER,
    "prison": ("Prison, released", "Prison, not released", "No prison"),
    "probation": ("Probation", "No probation"),
    "recall": ("Recalled", "Not recalled"),
}
ARROW = " → "
_COLOURS = ("#9b2c2c", "#dd6b20", "#2b6cb0", "#718096", "#38a169", "#805ad5", "#a0aec0", "#e2e8f0")


def person_keys_sql(key: str = ESTIMATED) -> str:
    """SELECT source_dataset, row_id_hash, person: the person of every record of the tables in :data:`SOURCES`.

    ``key`` is ``estimated_xjs_id`` (the linkage output, what a researcher has), a cluster at another
    match-probability threshold (``cluster_high``, ``cluster_medium``, ``cluster_low``), or ``person_id`` (the
    truth, which exists only in synthetic data and is for measuring the damage done by linkage errors).
    """
    return source_person_keys_sql(key, SOURCES)


def mags_cases_sql(keys: str = "keys") -> str:
    """SELECT person, m.*: every magistrates' case that is not a breach of an order, with its person.

    ``keys`` names a CTE made by :func:`person_keys_sql`. Breach proceedings are left out: they follow an earlier
    sentence rather than new offending, so they start no pathway and count as neither a previous case nor a return.
    """
    return f"""
        SELECT k.person, m.*
        FROM magistrates.case_summary m
        JOIN {keys} k ON k.row_id_hash = m.row_id_hash AND k.source_dataset = 'mags_hocas'
        WHERE coalesce(m.breach_marker, 'N') <> 'Y'"""


def _disposal_group_sql(column: str) -> str:
    whens = " ".join(f"WHEN '{label}' THEN '{group}'" for label, group in DISPOSAL_GROUPS.items())
    return f"CASE {column} {whens} ELSE 'Other' END"


def pathways_sql(year: int, key: str = ESTIMATED) -> str:
    """The query behind :func:`pathways` (one row per person of the cohort of ``year``)."""
    try:
        year = operator.index(year)  # an integer (numpy's too), never text that would reach the SQL
    except TypeError:
        raise DataFirstError(f"year must be an integer, not {year!r}") from None
    return f"""
    WITH keys AS ({person_keys_sql(key)}),
    mags AS (SELECT * FROM ({mags_cases_sql()}) WHERE year(first_hearing_date) = {year}),
    cohort AS (  -- each person's first case of the year: one pathway per person
        SELECT * FROM mags
        QUALIFY row_number() OVER (PARTITION BY person ORDER BY first_hearing_date, case_id_hash, row_id_hash) = 1
    ),
    crown AS (  -- the defendant's own row of a Crown Court trial or sentence case linked to the magistrates' case
        SELECT j.mags_case_id_hash, k.person, c.outcome, c.disposal_type, c.sentence_date, c.outcome_date,
               c.custody_length_days
        FROM linking.mags_crown_journey j
        JOIN crown_court.case_summary c ON c.case_id_hash = j.crown_case_id_hash
        JOIN keys k ON k.row_id_hash = c.row_id_hash AND k.source_dataset = 'crown_xhibit'
        WHERE c.case_type IN ('Trial', 'Sentence')
        QUALIFY row_number() OVER (
            PARTITION BY j.mags_case_id_hash, k.person ORDER BY c.receipt_date, c.row_id_hash) = 1
    ),
    cases AS (
        SELECT co.person, co.case_id_hash AS mags_case_id_hash, co.first_hearing_date,
               cr.person IS NOT NULL AS crown,
               CASE WHEN cr.person IS NOT NULL THEN cr.disposal_type ELSE co.disposal_type END AS disposal_type,
               CASE WHEN cr.person IS NOT NULL THEN cr.outcome ELSE co.jsas_result_group_desc END AS outcome,
               CASE WHEN cr.person IS NOT NULL THEN coalesce(cr.sentence_date, cr.outcome_date)
                    ELSE coalesce(co.disposal_date, co.final_result_date) END AS result_date
        FROM cohort co LEFT JOIN crown cr ON cr.mags_case_id_hash = co.case_id_hash AND cr.person = co.person
    ),
    grouped AS (
        SELECT *,
            CASE WHEN disposal_type IS NOT NULL THEN {_disposal_group_sql("disposal_type")}
                 WHEN outcome IN ('Acquitted', 'Withdrawn or discontinued', 'Appeal allowed') THEN 'Not convicted'
                 ELSE 'Not known' END AS disposal,
            coalesce(result_date, first_hearing_date) AS end_date
        FROM cases
    ),
    prison AS (
        -- a custodial journey received between the first hearing and just after the result (a remand, or the
        -- sentence); a custodial sentence may also join a journey already running (p-NOMIS merges them)
        SELECT g.person, p.journey_start_date, p.first_release_date, p.recall_count
        FROM grouped g
        JOIN keys k ON k.person = g.person AND k.source_dataset = 'prison_nomis'
        JOIN prison.custodial_journey p ON p.row_id_hash = k.row_id_hash
        WHERE p.journey_start_date <= g.end_date + INTERVAL {GRACE_DAYS} DAY
          AND CASE WHEN g.disposal = 'Custody'
                   THEN coalesce(p.journey_end_date, DATE '9999-12-31') >= g.end_date
                   ELSE p.journey_start_date >= g.first_hearing_date - INTERVAL {GRACE_DAYS} DAY END
        QUALIFY row_number() OVER (PARTITION BY g.person ORDER BY p.journey_start_date DESC, p.row_id_hash) = 1
    ),
    probation AS (  -- an order or licence referred to probation around the sentence (reports are not supervision)
        SELECT g.person, max(coalesce(f.recall_count, 0)) AS recall_count
        FROM grouped g
        JOIN keys k ON k.person = g.person AND k.source_dataset = 'probation_delius'
        JOIN probation.flatfile f ON f.row_id_hash = k.row_id_hash
        WHERE f.disposal_type_description <> 'Pre-Sentence Report'
          AND f.referral_date BETWEEN g.end_date - INTERVAL {GRACE_DAYS} DAY
                                  AND g.end_date + INTERVAL {PROBATION_WINDOW_DAYS} DAY
        GROUP BY g.person
    )
    SELECT g.person, g.mags_case_id_hash, g.first_hearing_date, g.end_date AS result_date,
           CASE WHEN g.crown THEN 'Crown Court' ELSE 'Magistrates'' court' END AS court,
           g.disposal,
           CASE WHEN p.person IS NULL THEN 'No prison'
                WHEN p.first_release_date IS NULL THEN 'Prison, not released'
                ELSE 'Prison, released' END AS prison,
           CASE WHEN pr.person IS NULL THEN 'No probation' ELSE 'Probation' END AS probation,
           CASE WHEN coalesce(p.recall_count, 0) > 0 OR coalesce(pr.recall_count, 0) > 0 THEN 'Recalled'
                ELSE 'Not recalled' END AS recall
    FROM grouped g
    LEFT JOIN prison p USING (person)
    LEFT JOIN probation pr USING (person)
    ORDER BY g.person
    """


def pathways(con: duckdb.DuckDBPyConnection, year: int, key: str = ESTIMATED) -> pd.DataFrame:
    """One row per defendant with a magistrates' case in ``year`` (their first case of that year), with its stages.

    Columns: ``person``, ``mags_case_id_hash``, ``first_hearing_date``, ``result_date``, then one column per stage
    (:data:`STAGES`: ``court``, ``disposal``, ``prison``, ``probation``, ``recall``) and ``sequence``, the stages the
    case actually passed through, joined by arrows. Breach cases are left out: they resentence an earlier order.

    ``con`` is a connection from :func:`sdfirst.connect` on a linked folder (or any DuckDB connection with the
    same schemas and tables).
    """
    frame = con.execute(pathways_sql(year, key)).df()
    frame["sequence"] = [ARROW.join(path) for path in _steps(frame)]
    return frame


def _steps(frame: pd.DataFrame) -> list[list[str]]:
    """The stages each case passed through, in order: the stages it did not reach are left out."""
    steps = []
    for row in frame.itertuples(index=False):
        path = ["Magistrates' court"]
        if row.court == "Crown Court":
            path.append("Crown Court")
        path.append(row.disposal)
        if row.prison != "No prison":
            path.append("Prison")
            if row.prison == "Prison, released":
                path.append("Released")
        if row.probation == "Probation":
            path.append("Probation")
        if row.recall == "Recalled":
            path.append("Recalled")
        steps.append(path)
    return steps


def transitions(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts of people per transition between consecutive stages of their sequence (``source``, ``target``)."""
    pairs = [pair for path in frame["sequence"] for pair in pairwise(path.split(ARROW))]
    counts = pd.DataFrame(pairs, columns=["source", "target"]).value_counts().rename("people").reset_index()
    return counts.sort_values(["people", "source", "target"], ascending=[False, True, True], ignore_index=True)


def stage_flows(frame: pd.DataFrame, stages: Sequence[str] = tuple(STAGES)) -> pd.DataFrame:
    """Counts of people between the values of each pair of adjacent stage columns: the bands of an alluvial chart.

    Columns: ``from_stage``, ``from_value``, ``to_stage``, ``to_value``, ``people``, in stage and chart order.
    """
    parts = []
    for left, right in pairwise(stages):
        counts = frame.groupby([left, right]).size().rename("people").reset_index()
        counts.columns = ["from_value", "to_value", "people"]
        counts.insert(0, "from_stage", left)
        counts.insert(2, "to_stage", right)
        parts.append(counts)
    flows = pd.concat(parts, ignore_index=True)
    rank = {(stage, value): i for stage, values in STAGES.items() for i, value in enumerate(values)}
    flows["_a"] = [rank.get((s, v), 99) for s, v in zip(flows["from_stage"], flows["from_value"], strict=True)]
    flows["_b"] = [rank.get((s, v), 99) for s, v in zip(flows["to_stage"], flows["to_value"], strict=True)]
    order = {stage: i for i, stage in enumerate(stages)}
    flows["_s"] = flows["from_stage"].map(order)
    return flows.sort_values(["_s", "_a", "_b"], ignore_index=True).drop(columns=["_s", "_a", "_b"])


def sequences(frame: pd.DataFrame, top: int | None = 10) -> pd.DataFrame:
    """The most common sequences of stages, with the number and share of people following each."""
    counts = frame["sequence"].value_counts().rename("people").rename_axis("sequence").reset_index()
    counts = counts.sort_values(["people", "sequence"], ascending=[False, True], ignore_index=True)
    counts["share"] = (counts["people"] / len(frame)).round(4)
    return counts if top is None else counts.head(top)


def _column_layout(frame: pd.DataFrame, stage: str, gap: float) -> dict[str, tuple[float, float]]:
    """(bottom, top) of each value's block in one column, from the top down in chart order, with gaps between."""
    counts = frame[stage].value_counts()
    values = [v for v in STAGES.get(stage, ()) if v in counts.index]
    values += sorted(set(counts.index) - set(values))
    layout, top = {}, float(len(frame)) + gap * (len(values) - 1)
    for value in values:
        layout[value] = (top - counts[value], top)
        top -= counts[value] + gap
    return layout


def plot_alluvial(
    frame: pd.DataFrame,
    stages: Sequence[str] = tuple(STAGES),
    ax: Any = None,
    colour_by: str = "disposal",
    colours: dict[str, str] | None = None,
    min_label: int = 1,
) -> Any:
    """Draw an alluvial chart of ``frame`` (from :func:`pathways`) with matplotlib: one column of blocks per stage,
    bands between adjacent columns as wide as the number of people, coloured by the value of ``colour_by``.

    Hand-drawn with ``fill_between`` so that the chart is a plain static image (the book must work offline).
    Returns the matplotlib axes. Blocks smaller than ``min_label`` people are drawn but not labelled.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(11, 6))
    values = [v for v in STAGES.get(colour_by, ()) if v in set(frame[colour_by])]
    values += sorted(set(frame[colour_by]) - set(values))
    palette = colours or {v: _COLOURS[i % len(_COLOURS)] for i, v in enumerate(values)}
    rank_colour = {v: k for k, v in enumerate(values)}
    gap = 0.03 * len(frame)
    layouts = [_column_layout(frame, stage, gap) for stage in stages]
    width = 0.12
    xs = np.arange(len(stages), dtype=float)
    smooth = np.linspace(0, 1, 50)
    curve = 3 * smooth**2 - 2 * smooth**3  # smoothstep: bands leave and arrive horizontally
    for i, (left, right) in enumerate(pairwise(stages)):
        out_top = {v: top for v, (_, top) in layouts[i].items()}
        in_top = {v: top for v, (_, top) in layouts[i + 1].items()}
        order = [v for v in layouts[i]]
        rank_right = {v: k for k, v in enumerate(layouts[i + 1])}
        groups = frame.groupby([left, right, colour_by]).size()
        keys = sorted(groups.index, key=lambda k: (order.index(k[0]), rank_right[k[1]], rank_colour[k[2]]))
        # bands arrive at the right-hand block in the order of their left-hand block, so bands do not cross inside
        arrive = sorted(keys, key=lambda k: (rank_right[k[1]], order.index(k[0]), rank_colour[k[2]]))
        y_in = {}
        for k in arrive:
            y_in[k] = in_top[k[1]]
            in_top[k[1]] -= groups[k]
        x = xs[i] + width / 2 + smooth * (1 - width)
        for k in keys:
            n = groups[k]
            y0 = out_top[k[0]]
            out_top[k[0]] -= n
            y1 = y_in[k]
            upper = y0 + (y1 - y0) * curve
            ax.fill_between(x, upper - n, upper, color=palette.get(k[2], "#cbd5e0"), alpha=0.55, linewidth=0)
    for i, layout in enumerate(layouts):
        for value, (bottom, top) in layout.items():
            ax.add_patch(plt.Rectangle((xs[i] - width / 2, bottom), width, top - bottom, color="#2d3748"))
            if top - bottom >= min_label:
                ax.text(
                    xs[i] + width / 2 + 0.02,
                    (bottom + top) / 2,
                    f"{value} ({int(top - bottom):,})",
                    va="center",
                    fontsize=8,
                )
    ax.set_xticks(xs, [stage.capitalize() for stage in stages])
    ax.set_xlim(-0.2, len(stages) - 0.4)
    ax.set_yticks([])
    ax.spines[["top", "right", "left"]].set_visible(False)
    return ax


__all__ = [
    "DISPOSAL_ORDER",
    "ESTIMATED",
    "STAGES",
    "TRUTH",
    "mags_cases_sql",
    "pathways",
    "pathways_sql",
    "person_keys_sql",
    "plot_alluvial",
    "sequences",
    "stage_flows",
    "transitions",
]
