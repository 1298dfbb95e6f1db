"""prison.custodial_journey, prison.oasys_assessment, prison.safety_incident and prison.rotl (p-NOMIS, OASys,
Safety in Custody, release on temporary licence), mapped from the custodial journeys, the time inside
(`world.time_inside`) and temporary release (`world.temporary_release`)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.columns import labels
from sdfirst.synth.custody import TimeInside
from sdfirst.synth.ids import to_hex
from sdfirst.synth.incidents import incident_kinds
from sdfirst.synth.recording import dataset_person_ids, record_identity, released_person_ids
from sdfirst.synth.tables import Built
from sdfirst.synth.tables.common import age_years, dataset_window, identity, offence_columns
from sdfirst.synth.temporary_release import release_types

DATASET = "prison"
_LETTERS = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ", dtype=np.uint8)


def _prison_numbers(world, person: np.ndarray, variant: np.ndarray) -> pa.Array:
    """Prison numbers like A1234BC: one per person and variant (a returning prisoner may get a new one)."""
    key = world.person_keys("prison-number", person, variant)
    digits = (key % np.uint64(10000)).astype(np.int64)
    a = _LETTERS[((key >> np.uint64(20)) % np.uint64(24)).astype(np.int64)]
    b = _LETTERS[((key >> np.uint64(28)) % np.uint64(24)).astype(np.int64)]
    c = _LETTERS[((key >> np.uint64(36)) % np.uint64(24)).astype(np.int64)]
    chars = np.stack([a, *[(48 + (digits // 10**i) % 10).astype(np.uint8) for i in (3, 2, 1, 0)], b, c], axis=1)
    data = pa.py_buffer(np.ascontiguousarray(chars).tobytes())
    offsets = pa.py_buffer(np.arange(0, 7 * (len(person) + 1), 7, dtype=np.int32).tobytes())
    return pa.Array.from_buffers(pa.string(), len(person), [None, offsets, data])


def _journeys(world, inside: TimeInside) -> dict:
    j = world.custody.journeys
    window = dataset_window(world, DATASET)
    rows = inside.journeys
    person, start = j.person[rows], j.start[rows]
    ident = record_identity(world, DATASET, person, start, "prison", "nomis_label")
    order = np.argsort(start, kind="stable")
    offender = to_hex(dataset_person_ids(world, DATASET, person, order))
    end = np.where(j.end[rows] > window.end, dates.NEVER, j.end[rows])
    return {
        "row_id_hash": world.ids("prison.custodial_journey.row", len(rows)),
        "offender_id": offender,
        "offender_id_display": _prison_numbers(world, person, inside.renumbered),
        "estimated_offender_id": to_hex(released_person_ids(world, DATASET, person)),
        **identity(ident, "forename", "surname", "date_of_birth", "sex", "ethnicity", "postcode"),
        "age_at_reception": age_years(world, person, start),
        "establishment": pa.array(inside.establishment, type=pa.string()),
        "journey_start_date": dates.to_arrow(start),
        "first_release_date": dates.to_arrow(
            np.where(j.first_release[rows] > window.end, dates.NEVER, j.first_release[rows])
        ),
        "journey_end_date": dates.to_arrow(end),
        "started_on_remand": j.remand_start[rows],
        "sentenced": j.sentenced[rows],
        "recall_count": j.recalls[rows],
        "sentence_length_days": pa.array(j.sentence_days[rows], mask=~j.sentenced[rows]),
        **offence_columns(j.code[rows]),
    }


def _oasys(world, inside: TimeInside, journey_cols: dict) -> Built:
    params = load_yaml("justice.yaml")["oasys"]
    a = inside.assessments
    ident = record_identity(world, DATASET, a.person, a.date, "oasys", "nomis_label")
    kinds = params["assessment_types"]
    columns = {
        "row_id_hash": world.ids("prison.oasys_assessment.row", len(a.journey)),
        "offender_id": journey_cols["offender_id"].take(pa.array(a.journey)),
        **identity(ident, "forename", "surname", "date_of_birth"),
        "assessment_date": dates.to_arrow(a.date),
        "assessment_type": labels([kinds["review"], kinds["initial"]], a.initial.astype(np.int64)),
        **a.needs,
        "ogrs3_probability": np.round(a.ogrs3, params["ogrs3"]["decimals"]),
        "rosh_level": labels(params["rosh"]["levels"], a.rosh),
    }
    return Built(columns, a.person)


def _incidents(world, inside: TimeInside, journey_cols: dict) -> Built:
    """The incidents inside the prison data's coverage."""
    window = dataset_window(world, DATASET)
    found = inside.incidents
    keep = window.contains(found.day)
    jr, day, kind = found.journey[keep], found.day[keep], found.kind[keep]
    take = pa.array(jr.astype(np.int64))
    columns = {
        "row_id_hash": world.ids("prison.safety_incident.row", len(jr)),
        "offender_id": journey_cols["offender_id"].take(take),
        "incident_date": dates.to_arrow(day),
        "incident_type": labels(incident_kinds(), kind),
        "establishment": journey_cols["establishment"].take(take),
    }
    return Built(columns, world.custody.journeys.person[inside.journeys][jr])


def _rotl(world, inside: TimeInside, journey_cols: dict) -> Built:
    r = world.temporary_release
    take = pa.array(r.journey.astype(np.int64))
    columns = {
        "row_id_hash": world.ids("prison.rotl.row", len(r.journey)),
        "offender_id": journey_cols["offender_id"].take(take),
        "journey_row_id_hash": journey_cols["row_id_hash"].take(take),
        "rotl_date": dates.to_arrow(r.day.astype(np.int32)),
        "return_date": dates.to_arrow(r.back.astype(np.int32)),
        "rotl_type": labels(release_types(), r.kind),
        "failure_marker": pa.array(r.failed),
    }
    return Built(columns, world.custody.journeys.person[inside.journeys][r.journey])


def build(world) -> dict[str, Built]:
    inside = world.time_inside
    columns = _journeys(world, inside)
    return {
        "custodial_journey": Built(columns, world.custody.journeys.person[inside.journeys]),
        "oasys_assessment": _oasys(world, inside, columns),
        "safety_incident": _incidents(world, inside, columns),
        "rotl": _rotl(world, inside, columns),
    }
