"""crown_court.case_summary and crown_court.offence: defendants at the Crown Court (XHIBIT)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.courts import CROWN
from sdfirst.synth.offending import offence_table
from sdfirst.synth.recording import record
from sdfirst.synth.tables import Built
from sdfirst.synth.tables.common import (
    age_years,
    court_names,
    crown_case_ids,
    crown_case_key,
    dataset_window,
    disposal_strings,
    identity,
    offence_columns,
    offence_level,
)

DATASET = "crown_court"


def _outcome(c, rows) -> np.ndarray:
    """The outcome of each case by its route: a trial's verdict (or its withdrawal, where no plea was taken), a
    committal's sentence, an appeal allowed or dismissed (the conviction quashed or upheld)."""
    route, pleas, outcomes = code_list("crown_case_types"), code_list("pleas"), code_list("crown_outcomes")
    t, conv, plea = c.crown_type[rows], c.crown_convicted[rows], c.crown_plea[rows]
    withdrawn_or_acquitted = np.where(plea == pleas["no_plea"], outcomes["withdrawn"], outcomes["acquitted"])
    trial = np.where(conv, outcomes["convicted"], withdrawn_or_acquitted)
    appeal = np.where(conv, outcomes["appeal_dismissed"], outcomes["appeal_allowed"])
    return np.select(
        [t == route["trial"], t == route["sentence"], t == route["appeal"]],
        [trial, outcomes["sentenced"], appeal],
    )


def build(world) -> dict[str, Built]:
    courts = world.courts
    c = courts.cases
    disposals = code_list("disposals")
    window = dataset_window(world, DATASET)
    rows = np.flatnonzero((c.crown_type >= 0) & world.covered(DATASET, c.crown_receipt, crown_case_key(c)))
    rec = record(world, DATASET, c.person[rows], c.crown_receipt[rows], "crown_court", "broad_group")
    rows = rows[rec.kept]
    person = c.person[rows]
    receipt = c.crown_receipt[rows]
    code = c.code[rows].astype(np.int64)
    decided = c.crown_result_date[rows] <= window.end  # later outcomes are not in the extract yet
    sentenced = (c.sentence_court[rows] == CROWN) & decided
    disposal = np.where(sentenced, c.disposal[rows], -1)
    ident = rec.identity
    row_ids = world.ids("crown_court.case_summary.row", len(rows))
    case_ids = crown_case_ids(world, c.case_group[rows], c.crown_type[rows])
    _, inverse, counts = np.unique(c.case_group[rows] * 4 + c.crown_type[rows], return_inverse=True, return_counts=True)
    summary = {
        "row_id_hash": row_ids,
        "defendant_on_case_id": world.ids("crown_court.defendant_on_case", len(rows)),
        "case_id_hash": case_ids,
        "case_type": code_list("crown_case_types").strings(c.crown_type[rows]),
        **identity(ident, "forename", "middle_name", "surname", "date_of_birth", "sex", "ethnicity", "postcode"),
        "age_at_receipt": age_years(world, person, receipt),
        "court_name": court_names(world, person, receipt, " Crown Court"),
        **offence_columns(code),
        "offence_severity": offence_table().severity[code].astype(np.int64),
        "offence_date": dates.to_arrow(c.offence_date[rows]),
        "receipt_date": dates.to_arrow(receipt),
        "remanded_in_custody": c.remanded[rows],
        "plea": code_list("pleas").strings(c.crown_plea[rows]),
        "outcome": code_list("crown_outcomes").strings(np.where(decided, _outcome(c, rows), -1)),
        "outcome_date": dates.censored(c.crown_result_date[rows], window.end),
        "number_of_defendants": counts[inverse].astype(np.int64),
        "disposal_type": disposal_strings(disposal),
        "sentence_date": dates.to_arrow(np.where(sentenced, c.sentence_date[rows], dates.NEVER)),
        "custody_length_days": pa.array(
            c.custody_days[rows],
            mask=~np.isin(disposal, disposals.indices("immediate_custody", "suspended_sentence")),
            type=pa.int64(),
        ),
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
