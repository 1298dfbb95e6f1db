"""Civil court (CaseMan and Possession Claim Online) tables: cases, their events and their parties.

`sdfirst.synth.civil_courts` simulates the claims, their parties, events and courts; this module only turns its
`CivilCourts` into the columns of `synthetic/datasets/civil.yaml`, with people's identifiers as recorded and
the hashed case and party ids. Company parties have no personal identifiers and no true person (person -1).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdfirst.synth import dates
from sdfirst.synth.civil_courts import CivilCourts, company_offices, simulate_civil_courts
from sdfirst.synth.columns import either, labels
from sdfirst.synth.ids import to_hex
from sdfirst.synth.parties import Chain, params
from sdfirst.synth.recording import record
from sdfirst.synth.tables import Built
from sdfirst.synth.tables.party_columns import (
    as_strings,
    court_names,
    organisation_keys,
    scatter,
    sequence_in_group,
)
from sdfirst.synth.world import Window, World

DATASET = "civil"


def _courts(world: World, civil: CivilCourts) -> pa.Array:
    """Local county court of the lead defendant, or the national bulk centre of a centrally issued claim."""
    claims = civil.claims
    local = court_names(world, params()[DATASET]["court_name_format"], claims.sector)
    central = labels(civil.central_courts, np.maximum(civil.central_court, 0))
    return pc.if_else(pa.array(civil.central_court >= 0), central, local)


def _cases_table(world: World, civil: CivilCourts, case_hash: pa.Array) -> Built:
    claims = civil.claims
    n = len(claims.issue)
    defendants = np.bincount(claims.p_case[claims.p_role == params()[DATASET]["roles"]["defendant"]], minlength=n)
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.cases.row", n),
            "case_number_hash": case_hash,
            "claim_type": as_strings(claims.claim_type),
            "issuing_system": as_strings(claims.system),
            "issue_date": dates.to_arrow(claims.issue),
            "amount_claimed": claims.amount.astype(np.float64),
            "court_name": _courts(world, civil),
            "number_of_defendants": defendants.astype(np.int64),
        },
        person=np.full(n, -1, dtype=np.int64),
    )


def _events_table(world: World, chain: Chain, case_hash: pa.Array, window: Window) -> Built:
    keep = chain.day <= window.end
    case, n = chain.case[keep], int(keep.sum())
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.events.row", n),
            "case_number_hash": case_hash.take(pa.array(case)),
            "event_seq": sequence_in_group(case),
            "event_date": dates.to_arrow(chain.day[keep]),
            "event_type": chain.strings(chain.event[keep]),
            "event_category": chain.strings(chain.category[keep]),
        },
        person=np.full(n, -1, dtype=np.int64),
    )


def _parties_table(world: World, civil: CivilCourts, case_hash: pa.Array) -> Built:
    claims, pool = civil.claims, civil.companies
    kinds = params()[DATASET]["party_types"]
    n = len(claims.p_case)
    rows = np.flatnonzero(claims.p_person >= 0)
    co = np.flatnonzero(claims.p_person < 0)
    when = claims.issue[claims.p_case[rows]]
    rec = record(world, DATASET, claims.p_person[rows], when, "civil:parties", order=np.argsort(when, kind="stable"))
    rows = rows[rec.kept]  # a person omitted is not among the claim's parties at all
    company, ident = claims.p_company[co], rec.identity
    placed = np.argsort(np.r_[rows, co], kind="stable")
    present = np.sort(np.r_[rows, co])
    party_id = pa.concat_arrays([to_hex(rec.person_ids), organisation_keys(world, "civil.company", company)]).take(
        pa.array(placed)
    )
    postcode = pa.concat_arrays([ident["postcode"], world.hoods.postcodes(*company_offices(world, company))]).take(
        pa.array(placed)
    )
    is_co = claims.p_person < 0
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.parties.row", n),
            "case_number_hash": case_hash.take(pa.array(claims.p_case)),
            "party_id": scatter(party_id, present, n),
            "party_role": as_strings(claims.p_role),
            "party_type": either(is_co, kinds["organisation"], kinds["person"]),
            "organisation_name": pool.names.take(pa.array(np.maximum(claims.p_company, 0), mask=~is_co)),
            **{col: scatter(ident[col], rows, n) for col in ("forename", "surname", "date_of_birth", "sex")},
            "postcode": scatter(postcode, present, n),
        },
        person=np.where(is_co, -1, claims.p_person).astype(np.int64),
    ).rows(present)


def build(world: World) -> dict[str, Built]:
    """The civil court tables of one chunk: cases, events and parties."""
    civil = simulate_civil_courts(world)
    case_hash = world.ids(f"{DATASET}.case", len(civil.claims.issue))
    return {
        "cases": _cases_table(world, civil, case_hash),
        "events": _events_table(world, civil.events, case_hash, civil.window),
        "parties": _parties_table(world, civil, case_hash),
    }
