"""crown_court.case_summary and crown_court.offence: defendants at the Crown Court (XHIBIT)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sdfirst.synth import dates
from sdfirst.synth.columns import labels
from sdfirst.synth.courts import APPEAL, PLEAS, SENTENCE, TRIAL
from sdfirst.synth.offending import offence_table
from sdfirst.synth.recording import record
from sdfirst.synth.tables import Built
from sdfirst.synth.tables.common import (
    age_years,
    court_names,
    dataset_window,
    disposal_strings,
    identity,
    keyed_hex,
    offence_columns,
    offence_level,
)

DATASET = "crown_court"
CASE_TYPES = ["Trial", "Sentence", "Appeal"]
OUTCOMES = [
    "Convicted",
    "Acquitted",
    "Withdrawn or discontinued",
    "Sentenced",
    "Appeal allowed",
    "Appeal dismissed",
]


def crown_case_ids(world, case_group: np.ndarray, case_type: np.ndarray) -> pa.Array:
    """Crown case keys: one per case group and route (a group's trial and a later appeal are different cases)."""
    return keyed_hex(world, "crown_court.case", case_group.astype(np.int64) * 4 + case_type)


def _outcome(c, rows) -> np.ndarray:
    t, conv, plea = c.crown_type[rows], c.crown_convicted[rows], c.crown_plea[rows]
    trial = np.where(conv, 0, np.where(plea == 2, 2, 1))
    return np.select([t == TRIAL, t == SENTENCE, t == APPEAL], [trial, 3, np.where(conv, 5, 4)])


def build(world) -> dict[str, Built]:
    courts = world.courts
    c = courts.cases
    window = dataset_window(world, DATASET)
    rows = np.flatnonzero((c.crown_type >= 0) & window.contains(c.crown_receipt))
    rec = record(world, DATASET, c.person[rows], c.crown_receipt[rows], "crown_court", "broad_group")
    rows = rows[rec.kept]
    person = c.person[rows]
    receipt = c.crown_receipt[rows]
    code = c.code[rows].astype(np.int64)
    decided = c.crown_result_date[rows] <= window.end  # later outcomes are not in the extract yet
    sentenced = (c.sentence_court[rows] == 1) & decided
    disposal = np.where(sentenced, c.disposal[rows], -1)
    ident = rec.identity
    row_ids = world.ids("crown_court.case_summary.row", len(rows))
    case_ids = crown_case_ids(world, c.case_group[rows], c.crown_type[rows])
    _, inverse, counts = np.unique(c.case_group[rows] * 4 + c.crown_type[rows], return_inverse=True, return_counts=True)
    summary = {
        "row_id_hash": row_ids,
        "defendant_on_case_id": world.ids("crown_court.defendant_on_case", len(rows)),
        "case_id_hash": case_ids,
        "case_type": labels(CASE_TYPES, c.crown_type[rows]),
        **identity(ident, "forename", "middle_name", "surname", "date_of_birth", "sex", "ethnicity", "postcode"),
        "age_at_receipt": age_years(world, person, receipt),
        "court_name": court_names(world, person, receipt, " Crown Court"),
        **offence_columns(code),
        "offence_severity": offence_table().severity[code].astype(np.int64),
        "offence_date": dates.to_arrow(c.offence_date[rows]),
        "receipt_date": dates.to_arrow(receipt),
        "remanded_in_custody": c.remanded[rows],
        "plea": labels(PLEAS, c.crown_plea[rows]),
        "outcome": labels(OUTCOMES, np.where(decided, _outcome(c, rows), -1)),
        "outcome_date": dates.censored(c.crown_result_date[rows], window.end),
        "number_of_defendants": counts[inverse].astype(np.int64),
        "disposal_type": disposal_strings(disposal),
        "sentence_date": dates.to_arrow(np.where(sentenced, c.sentence_date[rows], dates.NEVER)),
        "custody_length_days": pa.array(c.custody_days[rows], mask=~np.isin(disposal, [0, 1]), type=pa.int64()),
    }
    offences, off_person = offence_level(
        world,
        DATASET,
        rows,
        row_ids,
        case_ids,
        code,
        c.offence_date[rows],
        courts.secondary_case,
        courts.secondary_code,
        person,
    )
    return {"case_summary": Built(summary, person), "offence": Built(offences, off_person)}
