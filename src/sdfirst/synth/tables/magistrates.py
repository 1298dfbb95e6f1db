"""magistrates.case_summary and magistrates.offence: defendants at the magistrates' courts (LIBRA)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.columns import either
from sdfirst.synth.courts import MAGISTRATES
from sdfirst.synth.offending import offence_table
from sdfirst.synth.recording import record
from sdfirst.synth.tables import Built
from sdfirst.synth.tables.common import (
    age_years,
    court_names,
    dataset_window,
    disposal_strings,
    identity,
    mags_case_ids,
    offence_columns,
    offence_level,
)

DATASET = "magistrates"


def _proceedings(code: np.ndarray) -> pa.Array:
    """The type of proceedings, from the principal offence's mode of trial (summary ones split by motoring)."""
    t = offence_table()
    kinds = code_list("proceedings_types", "labels")
    mode, motoring = t.mode[code], t.motoring[code]
    tried = np.where(mode == "indictable", kinds["indictable"], kinds["either_way"])
    summary = np.where(mode == "summary", kinds["summary_non_motoring"], tried)
    return kinds.strings(np.where(motoring, kinds["summary_motoring"], summary))


def _adult_or_youth(age: np.ndarray) -> pa.Array:
    """An adult court, or the youth court for those under the courts' youth age at the first hearing."""
    courts = code_list("adult_or_youth")
    youth = age < load_yaml("justice.yaml")["courts"]["youth_under_age"]
    return courts.strings(np.where(youth, courts["youth"], courts["adult"]))


def build(world) -> dict[str, Built]:
    courts = world.courts
    c = courts.cases
    results, pleas, disposals = code_list("magistrates_results"), code_list("pleas"), code_list("disposals")
    window = dataset_window(world, DATASET)
    breaches = world.supervision.breach_cases
    rows = np.flatnonzero(world.covered(DATASET, c.first_hearing, c.case_group))
    b_rows = np.flatnonzero(world.covered(DATASET, breaches.hearing, breaches.key, "breach"))
    rec = record(
        world,
        DATASET,
        np.concatenate([c.person[rows], breaches.person[b_rows]]),
        np.concatenate([c.first_hearing[rows], breaches.hearing[b_rows]]),
        "magistrates",
        "broad_group",
    )
    rows, b_rows = rec.split(rows, b_rows)
    person = np.concatenate([c.person[rows], breaches.person[b_rows]])
    first = np.concatenate([c.first_hearing[rows], breaches.hearing[b_rows]]).astype(np.int32)
    code = np.concatenate([c.code[rows], breaches.code[b_rows]]).astype(np.int64)
    offence_date = np.concatenate([c.offence_date[rows], breaches.hearing[b_rows]]).astype(np.int32)
    breach = np.r_[np.zeros(len(rows), bool), np.ones(len(b_rows), bool)]
    result = np.concatenate([c.mags_result[rows], np.full(len(b_rows), results["convicted"], np.int8)])
    sentenced_here = np.concatenate([c.sentence_court[rows] == MAGISTRATES, np.ones(len(b_rows), bool)])
    disposal = np.concatenate([c.disposal[rows], breaches.disposal[b_rows]])
    disposal = np.where(sentenced_here, disposal, -1)
    result_date = np.concatenate([c.mags_result_date[rows], breaches.hearing[b_rows]]).astype(np.int32)
    length = np.concatenate([c.custody_days[rows], breaches.custody_days[b_rows]])
    fine = np.concatenate([c.fine[rows], np.full(len(b_rows), np.nan)])
    fine = np.where(sentenced_here, fine, np.nan)
    # a case still open when the extract was taken has no result yet
    still_open = result_date > window.end
    result = np.where(still_open, -1, result)
    disposal = np.where(still_open, -1, disposal)
    result_date = np.where(still_open, dates.NEVER, result_date)
    has_length = np.isin(disposal, disposals.indices("immediate_custody", "suspended_sentence"))
    fine = np.where(still_open, np.nan, fine)
    groups = np.concatenate([c.case_group[rows], (1 << 39) + breaches.key[b_rows]])
    ident = rec.identity
    row_ids = world.ids("magistrates.case_summary.row", len(person))
    case_ids = mags_case_ids(world, groups)
    plea = np.concatenate([c.mags_plea[rows], np.full(len(b_rows), pleas["guilty"], np.int8)])
    summary = {
        "row_id_hash": row_ids,
        "case_id_hash": case_ids,
        **identity(ident, "forename", "surname", "date_of_birth", "sex", "ethnicity", "postcode"),
        "age_at_hearing": age_years(world, person, first),
        "court_name": court_names(world, person, first, " Magistrates' Court"),
        "proceeding_type": _adult_or_youth(age_years(world, person, first)),
        "proceedings_type_desc": _proceedings(code),
        **offence_columns(code),
        "offence_date": dates.to_arrow(offence_date),
        "first_hearing_date": dates.to_arrow(first),
        "remanded_in_custody": np.concatenate([c.remanded[rows], np.zeros(len(b_rows), bool)]),
        "plea": pleas.strings(plea),
        "jsas_result_group_desc": results.strings(result),
        "final_result_date": dates.to_arrow(result_date),
        "disposal_type": disposal_strings(disposal),
        "disposal_date": dates.to_arrow(np.where(disposal >= 0, result_date, dates.NEVER)),
        "custody_length_days": pa.array(length, mask=~has_length, type=pa.int64()),
        "fine_amount": pa.array(fine, from_pandas=True),
        "breach_marker": either(breach, "Y", "N"),
    }
    case_rows = np.concatenate([rows, len(c) + np.arange(len(b_rows))])
    offences, off_person = offence_level(
        world,
        DATASET,
        case_rows,
        row_ids,
        case_ids,
        code,
        offence_date,
        courts.secondary_case,
        courts.secondary_code,
        person,
        disposal,
    )
    return {"case_summary": Built(summary, person), "offence": Built(offences, off_person)}
