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
from sdfirst.synth.recording import record, released_person_ids
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


def _journeys(world, inside: TimeInside) -> tuple[dict, np.ndarray]:
    """The journeys' columns, and which of the covered journeys are recorded (an omitted journey takes its
    assessments, incidents and licences with it: see `_recorded`)."""
    j = world.custody.journeys
    window = dataset_window(world, DATASET)
    rows = inside.journeys
    order = np.argsort(j.start[rows], kind="stable")
    rec = record(world, DATASET, j.person[rows], j.start[rows], "prison", "nomis_label", order=order)
    rows = rows[rec.kept]
    person, start = j.person[rows], j.start[rows]
    end = np.where(j.end[rows] > window.end, dates.NEVER, j.end[rows])
    columns = {
        "row_id_hash": world.ids("prison.custodial_journey.row", len(rows)),
        "offender_id": to_hex(rec.person_ids),
        "offender_id_display": _prison_numbers(world, person, inside.renumbered[rec.kept]),
        "estimated_offender_id": to_hex(released_person_ids(world, DATASET, person)),
        **identity(rec.identity, "forename", "surname", "date_of_birth", "sex", "ethnicity", "postcode"),
        "age_at_reception": age_years(world, person, start),
        "establishment": pa.array(inside.establishment[rec.kept], type=pa.string()),
        "journey_start_date": dates.to_arrow(start),
        "first_release_date": dates.to_arrow(
            np.where(j.first_release[rows] > window.end, dates.NEVER, j.first_release[rows])
        ),
        "journey_end_date": dates.to_arrow(end),
        "first_recall_date": dates.to_arrow(
            np.where(j.first_recall[rows] > window.end, dates.NEVER, j.first_recall[rows])
        ),
        "started_on_remand": j.remand_start[rows],
        "sentenced": j.sentenced[rows],
        "recall_count": j.recalls[rows],
        "sentence_length_days": pa.array(j.sentence_days[rows], mask=~j.sentenced[rows]),
        **offence_columns(j.code[rows]),
    }
    return columns, rec.kept


def _recorded(kept: np.ndarray, covered: int, journey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of rows hanging off covered journeys (`journey`, positions among the `covered` journeys), those whose
    journey was recorded, and the position of that journey in the recorded journeys' table."""
    position = np.full(covered, -1, dtype=np.int64)
    position[kept] = np.arange(len(kept))
    at = position[journey]
    keep = np.flatnonzero(at >= 0)
    return keep, at[keep]


def _oasys(world, inside: TimeInside, journey_cols: dict, kept: np.ndarray) -> Built:
    params = load_yaml("justice.yaml")["oasys"]
    a = inside.assessments
    rows, journey = _recorded(kept, len(inside.journeys), a.journey)
    rec = record(world, DATASET, a.person[rows], a.date[rows], "oasys", "nomis_label")
    rows, journey = rows[rec.kept], journey[rec.kept]
    kinds = params["assessment_types"]
    columns = {
        "row_id_hash": world.ids("prison.oasys_assessment.row", len(rows)),
        "offender_id": journey_cols["offender_id"].take(pa.array(journey)),
        **identity(rec.identity, "forename", "surname", "date_of_birth"),
        "assessment_date": dates.to_arrow(a.date[rows]),
        "assessment_type": labels([kinds["review"], kinds["initial"]], a.initial[rows].astype(np.int64)),
        **{topic: score[rows] for topic, score in a.needs.items()},
        "ogrs3_probability": np.round(a.ogrs3[rows], params["ogrs3"]["decimals"]),
        "rosh_level": labels(params["rosh"]["levels"], a.rosh[rows]),
    }
    return Built(columns, a.person[rows])


def _incidents(world, inside: TimeInside, journey_cols: dict, kept: np.ndarray) -> Built:
    """The incidents inside the prison data's coverage, of the recorded journeys."""
    window = dataset_window(world, DATASET)
    found = inside.incidents
    inside_window = np.flatnonzero(window.contains(found.day))
    rows, journey = _recorded(kept, len(inside.journeys), found.journey[inside_window])
    rows = inside_window[rows]
    take = pa.array(journey)
    columns = {
        "row_id_hash": world.ids("prison.safety_incident.row", len(rows)),
        "offender_id": journey_cols["offender_id"].take(take),
        "incident_date": dates.to_arrow(found.day[rows]),
        "incident_type": labels(incident_kinds(), found.kind[rows]),
        "establishment": journey_cols["establishment"].take(take),
    }
    return Built(columns, world.custody.journeys.person[inside.journeys][found.journey[rows]])


def _rotl(world, inside: TimeInside, journey_cols: dict, kept: np.ndarray) -> Built:
    r = world.temporary_release
    rows, journey = _recorded(kept, len(inside.journeys), r.journey.astype(np.int64))
    take = pa.array(journey)
    columns = {
        "row_id_hash": world.ids("prison.rotl.row", len(rows)),
        "offender_id": journey_cols["offender_id"].take(take),
        "journey_row_id_hash": journey_cols["row_id_hash"].take(take),
        "rotl_date": dates.to_arrow(r.day[rows].astype(np.int32)),
        "return_date": dates.to_arrow(r.back[rows].astype(np.int32)),
        "rotl_type": labels(release_types(), r.kind[rows]),
        "failure_marker": pa.array(r.failed[rows]),
    }
    return Built(columns, world.custody.journeys.person[inside.journeys][r.journey[rows]])


def build(world) -> dict[str, Built]:
    inside = world.time_inside
    columns, kept = _journeys(world, inside)
    return {
        "custodial_journey": Built(columns, world.custody.journeys.person[inside.journeys[kept]]),
        "oasys_assessment": _oasys(world, inside, columns, kept),
        "safety_incident": _incidents(world, inside, columns, kept),
        "rotl": _rotl(world, inside, columns, kept),
    }
