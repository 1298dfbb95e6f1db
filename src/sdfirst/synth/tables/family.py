"""Family court (FamilyMan) tables: cases, their events and their parties, mapped from the family courts process.

`sdfirst.synth.family_courts` simulates the cases, their parties and their events; this module only turns its
`FamilyCourts` into the columns of `synthetic/datasets/family.yaml`, with the identifiers as recorded (and the
extra missingness by role of `family_civil.yaml`) and the hashed case and party ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from sdfirst.synth import dates
from sdfirst.synth.columns import either, labels
from sdfirst.synth.family_courts import Cases, FamilyCourts, family_courts
from sdfirst.synth.ids import to_hex
from sdfirst.synth.parties import Chain, params
from sdfirst.synth.recording import record
from sdfirst.synth.tables import Built
from sdfirst.synth.tables.common import family_case_numbers
from sdfirst.synth.tables.party_columns import (
    as_strings,
    court_names,
    null_where,
    organisation_keys,
    scatter,
    sequence_in_group,
)
from sdfirst.synth.world import Window, World

DATASET = "family"


def _cases_table(world: World, family: FamilyCourts, case_hash: pa.Array) -> Built:
    cases, closed, window = family.cases, family.events.closed, family.window
    n = len(cases.issue)
    court = court_names(world, params()[DATASET]["court_name_format"], family.court_sector)
    children = np.bincount(cases.p_case[cases.p_role == params()[DATASET]["roles"]["child"]], minlength=n)
    related = cases.related
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.cases.row", n),
            "case_number_hash": case_hash,
            "case_type": as_strings(cases.case_type),
            "issue_date": dates.to_arrow(cases.issue),
            "originating_court": court,
            "disposal_date": dates.to_arrow(closed, closed > window.end),
            "related_case_number_hash": case_hash.take(pa.array(np.maximum(related, 0), mask=related < 0)),
            "number_of_children": children.astype(np.int64),
        },
        person=np.full(n, -1, dtype=np.int64),
    )


def _events_table(world: World, chain: Chain, case_hash: pa.Array, window: Window) -> Built:
    keep = chain.day <= window.end
    case, day = chain.case[keep], chain.day[keep]
    n = len(case)
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.events.row", n),
            "case_number_hash": case_hash.take(pa.array(case)),
            "event_seq": sequence_in_group(case),
            "event_date": dates.to_arrow(day),
            "event_type": chain.strings(chain.event[keep]),
            "event_category": chain.strings(chain.category[keep]),
        },
        person=np.full(n, -1, dtype=np.int64),
    )


def _parties_table(world: World, cases: Cases, organisations: tuple[str, ...], case_hash: pa.Array) -> Built:
    cfg = params()[DATASET]
    n = len(cases.p_case)
    rows = np.flatnonzero(cases.p_person >= 0)
    when = cases.issue[cases.p_case[rows]]
    order = np.argsort(when, kind="stable")
    rec = record(world, DATASET, cases.p_person[rows], when, "family:parties", "broad_group", order=order)
    rows = rows[rec.kept]  # a person omitted is not among the case's parties at all
    ident = _role_missingness(world, cfg, cases.p_role[rows], rec.identity)
    org = cases.p_org >= 0
    party_id = pa.concat_arrays(
        [to_hex(rec.person_ids), organisation_keys(world, "family.local-authority", cases.p_org[org])]
    )
    placed = np.r_[rows, np.flatnonzero(org)]
    present = np.sort(placed)
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.parties.row", n),
            "case_number_hash": case_hash.take(pa.array(cases.p_case)),
            "party_id": scatter(party_id.take(pa.array(np.argsort(placed, kind="stable"))), present, n),
            "party_role": as_strings(cases.p_role),
            "party_type": either(org, cfg["party_types"]["organisation"], cfg["party_types"]["person"]),
            "organisation_name": labels(organisations, np.maximum(cases.p_org, 0), missing=~org),
            **{
                col: scatter(ident[col], rows, n)
                for col in ("forename", "surname", "date_of_birth", "sex", "postcode", "ethnicity")
            },
        },
        person=np.where(org, -1, cases.p_person).astype(np.int64),
    ).rows(present)


def _role_missingness(
    world: World, cfg: dict[str, Any], role: np.ndarray, ident: dict[str, pa.Array]
) -> dict[str, pa.Array]:
    """Blank more identifiers for some roles (children's addresses, absent respondents' details)."""
    rng = world.rng("family:role-missing")
    out = dict(ident)
    for r, columns in cfg["extra_missing"].items():
        for col, rate in columns.items():
            out[col] = null_where(out[col], (role == r) & (rng.random(len(role)) < rate))
    return out


def build(world: World) -> dict[str, Built]:
    """The family court tables of one chunk: cases, events and parties."""
    family = family_courts(world)
    case_hash = family_case_numbers(world, len(family.cases.issue))
    return {
        "cases": _cases_table(world, family, case_hash),
        "events": _events_table(world, family.events, case_hash, family.window),
        "parties": _parties_table(world, family.cases, family.organisations, case_hash),
    }
