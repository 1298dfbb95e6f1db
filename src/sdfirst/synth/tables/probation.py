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


def _areas(world, person: np.ndarray, when: np.ndarray, report: np.ndarray) -> pa.Array:
    """Who held each event (code list probation_areas): the trust of the person's region before Transforming
    Rehabilitation; from then the region's NPS division for every report and a share of the rest, else its CRC."""
    s = load_yaml("justice.yaml")["supervision"]
    areas = code_lists()["probation_areas"]["areas"]
    k = world.people.address_index(person, when)
    region = world.hoods.region[world.people.addr_sector[person, k]].astype(np.int64)
    nps = report | (world.rng("probation.allocation").random(len(person)) < s["nps_share"])
    holder = np.where(when < dates.day(str(s["crc_start"])), 0, np.where(nps, 2, 1))
    names = np.array([areas[r] for r in world.hoods.regions], dtype=object)  # regions x [trust, CRC, NPS]
    return pa.array(names[region, holder], type=pa.string())


def _months(days: np.ndarray) -> np.ndarray:
    """A length in days as whole months (a month is a twelfth of a year), at least one."""
    return np.maximum(np.rint(days / (365.25 / 12)), 1).astype(np.int64)


def build(world) -> dict[str, Built]:
    sup = world.supervision
    ev = sup.events
    c = world.courts.cases
    window = dataset_window(world, DATASET)
    rows = np.flatnonzero(window.contains(ev.referral))
    order = np.argsort(ev.referral[rows], kind="stable")
    rec = record(world, DATASET, ev.person[rows], ev.referral[rows], "probation", "ndelius_label", order=order)
    rows = rows[rec.kept]  # an omitted event takes its requirements with it
    person, referral = ev.person[rows], ev.referral[rows]
    case = ev.case[rows]
    ident = rec.identity
    event_ids = world.ids("probation.event", len(rows))
    t = offence_table()
    code = c.code[case].astype(np.int64)
    ended = ev.termination[rows] <= window.end
    report = ev.kind[rows] == REPORT
    sub = type(ev)(*[getattr(ev, f)[rows] for f in ev.__dataclass_fields__])
    areas = _areas(world, person, referral, report)
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
        "mo_code": pa.array(np.array([c.replace("/", "") for c in t.code], dtype=object)[code], type=pa.string()),
        "mo_category_description": pa.array(t.group[code]),
        "disposal_type_description": _disposal_labels(sub),
        "referral_date": dates.to_arrow(referral),
        "main_offence_date": dates.to_arrow(c.offence_date[case]),
        "disposal_date": dates.to_arrow(np.where(report, dates.NEVER, c.sentence_date[case])),
        "disposal_termination_date": dates.to_arrow(np.where(ended, ev.termination[rows], dates.NEVER)),
        "termination_reason_desc": code_list("termination_reasons").strings(np.where(ended, ev.reason[rows], -1)),
        "length": pa.array(_months(ev.length_days[rows]), mask=report),
        "length_in_days": pa.array(ev.length_days[rows], mask=report),
        "recall_count": ev.recalls[rows].astype(np.int64),
        "probation_area_desc": areas,
    }
    per_event = (flat["estimated_offender_id"], areas, c.sentence_date[case])
    return {"flatfile": Built(flat, person), "rqmnts": _requirements(world, sup, rows, event_ids, per_event, window)}


def _requirements(world, sup, rows, event_ids, per_event, window) -> Built:
    """One row per requirement of a recorded event; `per_event` is what a requirement repeats from its event (the
    person id, who held it, its sentence date), in flatfile's order."""
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
    event = position[req.event[keep]]  # each requirement's row in flatfile
    at = pa.array(event)
    person_ids, areas, sentenced = per_event
    columns = {
        "row_id_hash": world.ids("probation.rqmnts.row", len(keep)),
        "event_id_hash": event_ids.take(at),
        "estimated_offender_id": person_ids.take(at),
        "rqmnt_type_main_category_code": pa.array(np.array(codes)[kind]),
        "rqmnt_type_main_category_desc": pa.array(np.array([spec[k][0] for k in codes])[kind]),
        "rqmnt_start_date": dates.to_arrow(sentenced[event]),
        "rqmnt_commencement_date": dates.to_arrow(req.start[keep]),
        "rqmnt_termination_date": dates.to_arrow(np.where(ended, req.end[keep], dates.NEVER)),
        "rqmnt_termination_reason_desc": labels(reasons, np.where(ended, req.reason[keep], -1)),
        "length": req.length[keep],
        "length_unit": pa.array(np.array([units[k][0] for k in codes])[kind]),
        "probation_area_desc": areas.take(at),
    }
    return Built(columns, sup.events.person[req.event[keep]])
