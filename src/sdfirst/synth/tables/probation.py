"""probation.flatfile and probation.rqmnts (nDelius)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sdfirst.specs import code_lists, load_yaml
from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.columns import labels
from sdfirst.synth.ids import to_hex
from sdfirst.synth.offending import offence_table
from sdfirst.synth.recording import record, released_person_ids
from sdfirst.synth.supervision import REPORT, requirement_codes
from sdfirst.synth.tables import Built
from sdfirst.synth.tables.common import age_years, dataset_window, identity

DATASET = "probation"


def _disposal_labels(ev) -> pa.Array:
    s = load_yaml("justice.yaml")["supervision"]
    table = s["disposal_labels"]
    ora = ev.referral >= dates.day(str(s["ora_start"]))
    key = np.where(ev.kind == REPORT, "presentence_report", np.array([*code_list("disposals").keys, "x"])[ev.disposal])
    before = np.array([table[k][0] for k in key], dtype=object) if len(key) else np.array([], dtype=object)
    after = np.array([table[k][1] for k in key], dtype=object) if len(key) else np.array([], dtype=object)
    return pa.array(np.where(ora, after, before), type=pa.string())


def _areas(world, person, when) -> pa.Array:
    areas = code_lists()["probation_areas"]["areas"]
    k = world.people.address_index(person, when)
    region = world.hoods.region[world.people.addr_sector[person, k]]
    names = [areas[r] for r in world.hoods.regions]
    return pa.array(names).take(pa.array(region.astype(np.int64)))


def build(world) -> dict[str, Built]:
    sup = world.supervision
    ev = sup.events
    c = world.courts.cases
    window = dataset_window(world, DATASET)
    rows = np.flatnonzero(window.contains(ev.referral))
    order = np.argsort(ev.referral[rows], kind="stable")
    rec = record(world, DATASET, ev.person[rows], ev.referral[rows], "probation", "census_label", order=order)
    rows = rows[rec.kept]  # an omitted event takes its requirements with it
    person, referral = ev.person[rows], ev.referral[rows]
    case = ev.case[rows]
    ident = rec.identity
    event_ids = world.ids("probation.event", len(rows))
    t = offence_table()
    code = c.code[case].astype(np.int64)
    ended = ev.termination[rows] <= window.end
    sub = type(ev)(*[getattr(ev, f)[rows] for f in ev.__dataclass_fields__])
    flat = {
        "row_id_hash": world.ids("probation.flatfile.row", len(rows)),
        "event_id_hash": event_ids,
        "offender_id": to_hex(rec.person_ids),
        "estimated_offender_id": to_hex(released_person_ids(world, DATASET, person)),
        **identity(
            ident,
            "forename",
            "surname",
            "date_of_birth",
            "postcode",
            gender="sex",
            ethnicity_desc="ethnicity",
            lsoa_residence="lsoa",
        ),
        "age_at_offence": age_years(world, person, c.offence_date[case]),
        "mo_code": pa.array(t.code[code]),
        "mo_category_description": pa.array(t.group[code]),
        "disposal_type_description": _disposal_labels(sub),
        "referral_date": dates.to_arrow(referral),
        "termination_date": dates.to_arrow(np.where(ended, ev.termination[rows], dates.NEVER)),
        "termination_reason_desc": code_list("termination_reasons").strings(np.where(ended, ev.reason[rows], -1)),
        "sentence_length_days": pa.array(ev.length_days[rows], mask=ev.kind[rows] == REPORT),
        "recall_count": ev.recalls[rows].astype(np.int64),
        "probation_area_desc": _areas(world, person, referral),
    }
    return {"flatfile": Built(flat, person), "rqmnts": _requirements(world, sup, rows, event_ids, window)}


def _requirements(world, sup, rows, event_ids, window) -> Built:
    req = sup.requirements
    position = np.full(len(sup.events), -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    keep = np.flatnonzero((position[req.event] >= 0) & (req.start <= window.end))
    codes = requirement_codes()
    spec = code_lists()["requirements"]["codes"]
    units = load_yaml("justice.yaml")["supervision"]["requirement_lengths"]
    recorded = code_lists()["requirement_termination_reasons"]
    reasons = [recorded[key] for key in code_list("termination_reasons").keys]
    kind = req.kind[keep]
    ended = req.end[keep] <= window.end
    columns = {
        "row_id_hash": world.ids("probation.rqmnts.row", len(keep)),
        "event_id_hash": event_ids.take(pa.array(position[req.event[keep]])),
        "rqmnt_type_main_category_code": pa.array(np.array(codes)[kind]),
        "rqmnt_type_main_category_desc": pa.array(np.array([spec[k][0] for k in codes])[kind]),
        "rqmnt_commencement_date": dates.to_arrow(req.start[keep]),
        "rqmnt_termination_date": dates.to_arrow(np.where(ended, req.end[keep], dates.NEVER)),
        "rqmnt_termination_reason_desc": labels(reasons, np.where(ended, req.reason[keep], -1)),
        "length": req.length[keep],
        "length_unit": pa.array(np.array([units[k][0] for k in codes])[kind]),
    }
    return Built(columns, sup.events.person[req.event[keep]])
