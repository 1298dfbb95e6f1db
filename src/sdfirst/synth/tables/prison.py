"""prison.custodial_journey, prison.oasys_assessment, prison.safety_incident and prison.rotl (p-NOMIS, OASys,
Safety in Custody, release on temporary licence)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.columns import either, labels
from sdfirst.synth.ids import to_hex
from sdfirst.synth.recording import record, released_person_ids
from sdfirst.synth.tables import Built
from sdfirst.synth.tables.common import age_years, dataset_window, identity, offence_columns

DATASET = "prison"
_LETTERS = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ", dtype=np.uint8)


def _prison_numbers(world, person: np.ndarray, rng) -> pa.Array:
    """Prison numbers like A1234BC: one per person, but a returning prisoner gets a new one 30% of the time."""
    variant = (rng.random(len(person)) < 0.3).astype(np.int64) * (1 + np.arange(len(person)) % 7)
    key = world.person_keys("prison-number", person, variant)
    digits = (key % np.uint64(10000)).astype(np.int64)
    a = _LETTERS[((key >> np.uint64(20)) % np.uint64(24)).astype(np.int64)]
    b = _LETTERS[((key >> np.uint64(28)) % np.uint64(24)).astype(np.int64)]
    c = _LETTERS[((key >> np.uint64(36)) % np.uint64(24)).astype(np.int64)]
    chars = np.stack([a, *[(48 + (digits // 10**i) % 10).astype(np.uint8) for i in (3, 2, 1, 0)], b, c], axis=1)
    data = pa.py_buffer(np.ascontiguousarray(chars).tobytes())
    offsets = pa.py_buffer(np.arange(0, 7 * (len(person) + 1), 7, dtype=np.int32).tobytes())
    return pa.Array.from_buffers(pa.string(), len(person), [None, offsets, data])


def _establishments(world, person: np.ndarray, when: np.ndarray, rng) -> pa.Array:
    prisons = load_yaml("justice.yaml")["custody"]["prisons"]
    male = world.people.male[person]
    youth = age_years(world, person, when) < 21
    choice = np.where(youth & male, 2, np.where(male, 0, 1))
    out = np.empty(len(person), dtype=object)
    for i, key in enumerate(("men", "women", "youth")):
        rows = np.flatnonzero(choice == i)
        out[rows] = np.array(prisons[key], dtype=object)[rng.integers(0, len(prisons[key]), len(rows))]
    return pa.array(out, type=pa.string())


def _journeys(world, rng):
    j = world.custody.journeys
    window = dataset_window(world, DATASET)
    rows = np.flatnonzero(window.contains(j.start))
    order = np.argsort(j.start[rows], kind="stable")
    rec = record(world, DATASET, j.person[rows], j.start[rows], "prison", "nomis_label", order=order)
    rows = rows[rec.kept]  # an omitted journey takes its assessments, incidents and licences with it
    person, start = j.person[rows], j.start[rows]
    ident = rec.identity
    offender = to_hex(rec.person_ids)
    end = np.where(j.end[rows] > window.end, dates.NEVER, j.end[rows])
    establishment = _establishments(world, person, start, rng)
    columns = {
        "row_id_hash": world.ids("prison.custodial_journey.row", len(rows)),
        "offender_id": offender,
        "offender_id_display": _prison_numbers(world, person, rng),
        "estimated_offender_id": to_hex(released_person_ids(world, DATASET, person)),
        **identity(ident, "forename", "surname", "date_of_birth", "sex", "ethnicity", "postcode"),
        "age_at_reception": age_years(world, person, start),
        "establishment": establishment,
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
    return rows, columns, ident


def _oasys(world, rng, rows, journey_cols) -> Built:
    """Initial assessments for most sentenced journeys, then yearly reviews while in custody."""
    params = load_yaml("justice.yaml")["oasys"]
    j = world.custody.journeys
    window = dataset_window(world, DATASET)
    assessed = j.sentenced[rows] & (rng.random(len(rows)) < params["assessment_share"])
    span_end = np.minimum(np.where(j.end[rows] == dates.NEVER, window.end, j.end[rows]), window.end)
    first = j.start[rows] + rng.integers(14, 60, len(rows))
    reviews = np.where(assessed, np.maximum(span_end - first, 0) // params["review_interval_days"], 0)
    count = np.where(assessed & (first <= span_end), 1 + reviews, 0)
    jr = np.repeat(np.arange(len(rows)), count)
    seq = np.arange(len(jr)) - np.repeat(np.cumsum(count) - count, count)
    when = (first[jr] + seq * params["review_interval_days"]).astype(np.int32)
    rec = record(world, DATASET, j.person[rows][jr], when, "oasys", "nomis_label")
    jr, seq, when = jr[rec.kept], seq[rec.kept], when[rec.kept]
    person = j.person[rows][jr]
    ident = rec.identity
    risk = world.people.risk[person]
    columns = {
        "row_id_hash": world.ids("prison.oasys_assessment.row", len(jr)),
        "offender_id": journey_cols["offender_id"].take(pa.array(jr)),
        **identity(ident, "forename", "surname", "date_of_birth"),
        "assessment_date": dates.to_arrow(when),
        "assessment_type": either(seq == 0, "Initial", "Review"),
    }
    for topic in params["topics"]:
        score = 0.6 * risk + rng.standard_normal(len(jr)) + 0.2
        columns[topic] = np.digitize(score, [0.0, 1.0]).astype(np.int64)
    ogrs = 1 / (1 + np.exp(-(-0.3 + 0.9 * risk + 0.3 * rng.standard_normal(len(jr)))))
    columns["ogrs3_probability"] = np.round(ogrs, 3)
    rosh = np.digitize(risk + 0.8 * rng.standard_normal(len(jr)), [0.3, 1.5, 2.6])
    columns["rosh_level"] = pa.array(["Low", "Medium", "High", "Very High"]).take(pa.array(rosh))
    return Built(columns, person)


def _incidents(world, rng, rows, journey_cols) -> Built:
    """Incidents as a Poisson process over each journey's days inside, at rates by type and sex."""
    rates = load_yaml("justice.yaml")["safety_in_custody"]["rates"]
    j = world.custody.journeys
    window = dataset_window(world, DATASET)
    male = world.people.male[j.person[rows]]
    years = j.days_in_custody[rows] / 365.25
    parts = []
    for kind, rate in rates.items():
        lam = np.where(male, rate["men"], rate["women"]) * years
        n = rng.poisson(lam)
        jr = np.repeat(np.arange(len(rows)), n)
        day = j.start[rows][jr] + (rng.random(len(jr)) * j.days_in_custody[rows][jr]).astype(np.int64)
        parts.append((jr, day, np.full(len(jr), kind, dtype=object)))
    jr = np.concatenate([p[0] for p in parts])
    day = np.concatenate([p[1] for p in parts]).astype(np.int32)
    kind = np.concatenate([p[2] for p in parts])
    keep = window.contains(day)
    jr, day, kind = jr[keep], day[keep], kind[keep]
    take = pa.array(jr.astype(np.int64))
    columns = {
        "row_id_hash": world.ids("prison.safety_incident.row", len(jr)),
        "offender_id": journey_cols["offender_id"].take(take),
        "incident_date": dates.to_arrow(day),
        "incident_type": pa.array(kind, type=pa.string()),
        "establishment": journey_cols["establishment"].take(take),
    }
    return Built(columns, j.person[rows][jr])


def _rotl_spans(world, rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each journey's days of ROTL eligibility: sentenced, long enough, the last months before first release.

    Returns the journey rows (indices into `rows`) and the first and last eligible day of each, inside coverage.
    """
    params = load_yaml("effects.yaml")["rotl_policy_2019"]["baseline"]
    j = world.custody.journeys
    window = dataset_window(world, DATASET)
    start, release = j.start[rows].astype(np.int64), j.first_release[rows].astype(np.int64)
    long_enough = j.sentenced[rows] & (j.sentence_days[rows] >= params["min_sentence_days"])
    first = np.maximum(np.maximum(start + params["min_days_served"], release - params["eligible_days"]), window.start)
    last = np.minimum(release - 1, window.end)
    keep = np.flatnonzero(long_enough & (release != dates.NEVER) & (first <= last))
    return keep, first[keep], last[keep]


def _rotl(world, rows, journey_cols) -> Built:
    """Releases on temporary licence: a Poisson process over each eligible span, its rate stepping up at the
    policy date by the documented rate ratio (synthetic/effects.yaml, rotl_policy_2019).

    Every random number comes from the stream "prison-rotl", used by nothing else, so adding this table leaves
    every other table byte for byte as it was.
    """
    effect = load_yaml("effects.yaml")["rotl_policy_2019"]
    params = effect["baseline"]
    rng = world.rng("prison-rotl")
    j = world.custody.journeys
    jr, first, last = _rotl_spans(world, rows)
    in_open = rng.random(len(jr)) < params["open_conditions_share"]
    jr, first, last = jr[in_open], first[in_open], last[in_open]
    policy = dates.day(str(effect["date"]))
    monthly = params["monthly_rate"]
    pieces = []
    for lo, hi, rate in (
        (first, np.minimum(last, policy - 1), monthly),
        (np.maximum(first, policy), last, monthly * effect["rate_ratio"]),
    ):
        length = np.maximum(hi - lo + 1, 0)
        n = rng.poisson(rate * length / 30.4375)
        idx = np.repeat(np.arange(len(jr)), n)
        day = lo[idx] + (rng.random(len(idx)) * length[idx]).astype(np.int64)
        pieces.append((idx, day))
    idx = np.concatenate([p[0] for p in pieces])
    day = np.concatenate([p[1] for p in pieces])
    order = np.lexsort((day, idx))
    idx, day = idx[order], day[order]
    types = list(params["types"])
    share = np.array([params["types"][t]["share"] for t in types])
    kind = rng.choice(len(types), size=len(idx), p=share / share.sum())
    max_nights = np.array([params["types"][t]["max_nights"] for t in types])[kind]
    nights = (rng.random(len(idx)) * (max_nights + 1)).astype(np.int64)
    back = day + nights
    failed = rng.random(len(idx)) < params["failure_share"]
    keep = back <= last[idx]  # a licence that would run past release (or the coverage) is not granted
    idx, day, back, kind, failed = idx[keep], day[keep], back[keep], kind[keep], failed[keep]
    take = pa.array(jr[idx].astype(np.int64))
    columns = {
        "row_id_hash": world.ids("prison.rotl.row", len(idx)),
        "offender_id": journey_cols["offender_id"].take(take),
        "journey_row_id_hash": journey_cols["row_id_hash"].take(take),
        "rotl_date": dates.to_arrow(day.astype(np.int32)),
        "return_date": dates.to_arrow(back.astype(np.int32)),
        "rotl_type": labels(types, kind),
        "failure_marker": pa.array(failed),
    }
    return Built(columns, j.person[rows][jr[idx]])


def build(world) -> dict[str, Built]:
    rng = world.rng("prison-tables")
    rows, columns, _ = _journeys(world, rng)
    person = world.custody.journeys.person[rows]
    return {
        "custodial_journey": Built(columns, person),
        "oasys_assessment": _oasys(world, rng, rows, columns),
        "safety_incident": _incidents(world, rng, rows, columns),
        "rotl": _rotl(world, rows, columns),
    }
