"""Pieces shared by the builders: case keys (criminal and family), offence columns, court names and the offence-level
table. Only mappings of process results to columns, and id hashing: no draws."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.ids import id_key, mix64, to_hex
from sdfirst.synth.offending import offence_table


def keyed_hex(world, kind: str, values: np.ndarray) -> pa.Array:
    """Opaque keys computed from chunk-local integers, so that two builders can derive the same key."""
    raw = (np.uint64(world.chunk) << np.uint64(40)) | np.asarray(values, dtype=np.uint64)
    return to_hex(mix64(raw ^ id_key(world.seed, kind)))


def family_case_numbers(world, n: int) -> pa.Array:
    """FamilyMan's case_number_hash of each of the chunk's n family cases, by case index: the family tables and the
    Cafcass records of the linked release carry the same key."""
    return world.ids("family.case", n)


def mags_case_ids(world, case_group: np.ndarray) -> pa.Array:
    """Magistrates' case keys: one per case group (co-defendants share a case)."""
    return keyed_hex(world, "magistrates.case", case_group)


def crown_case_ids(world, case_group: np.ndarray, case_type: np.ndarray) -> pa.Array:
    """Crown case keys: one per case group and route (a group's trial and a later appeal are different cases)."""
    return keyed_hex(world, "crown_court.case", _crown_case(case_group, case_type))


def crown_case_key(cases) -> np.ndarray:
    """The Crown Court case of each row of Cases, as a number: its co-defendants share it."""
    return _crown_case(cases.case_group, cases.crown_type)


def _crown_case(case_group: np.ndarray, case_type: np.ndarray) -> np.ndarray:
    return case_group.astype(np.int64) * 4 + case_type


def dataset_window(world, dataset: str):
    """The user's years narrowed to the dataset's coverage."""
    return world.dataset_window(dataset)


def identity(ident: dict[str, pa.Array], *names: str, **renamed: str) -> dict[str, pa.Array]:
    """Recorded identity columns under the names a table uses: identity(ident, "forename", gender="sex")."""
    return {**{name: ident[name] for name in names}, **{new: ident[old] for new, old in renamed.items()}}


def offence_columns(code: np.ndarray) -> dict[str, pa.Array]:
    t = offence_table()
    idx = pa.array(np.asarray(code, dtype=np.int64))
    return {
        "offence_code": pa.array(t.code).take(idx),
        "offence_description": pa.array(t.description).take(idx),
        "offence_group": pa.array(t.group).take(idx),
    }


def disposal_strings(disposal: np.ndarray) -> pa.Array:
    return code_list("disposals").strings(disposal)


def court_names(world, person: np.ndarray, when: np.ndarray, suffix: str) -> pa.Array:
    """The court serving the area a person lived in on the day."""
    import pyarrow.compute as pc

    k = world.people.address_index(person, when)
    town = world.hoods.town.take(pa.array(world.people.addr_sector[person, k]))
    return pc.binary_join_element_wise(town, pa.scalar(suffix), "")


def age_years(world, person: np.ndarray, when: np.ndarray) -> np.ndarray:
    return dates.age_on(world.people.dob[person], when)


def offence_level(
    world,
    kind: str,
    case_rows: np.ndarray,
    row_ids: pa.Array,
    case_ids: pa.Array,
    principal_code: np.ndarray,
    offence_date: np.ndarray,
    sec_case: np.ndarray,
    sec_code: np.ndarray,
    person: np.ndarray,
    disposal: np.ndarray | None = None,
) -> tuple[dict, np.ndarray]:
    """The offence-level table of a court: each kept case's principal offence then its other offences.

    case_rows maps each kept defendant row to its index in Cases; secondary offences of those cases follow.
    `disposal` (code list disposals, -1 for none), one per defendant row, adds each offence's disposal: the
    principal offence's is the case's, and the others' never more serious (:func:`secondary_disposals`).
    """
    position = np.full(int(case_rows.max()) + 1 if len(case_rows) else 1, -1, dtype=np.int64)
    position[case_rows] = np.arange(len(case_rows))
    keep = np.flatnonzero(np.isin(sec_case, case_rows)) if len(case_rows) else np.array([], dtype=np.int64)
    sec_row = position[sec_case[keep]]
    order = np.argsort(sec_row, kind="stable")
    sec_row, sec_codes = sec_row[order], sec_code[keep][order]
    starts = np.r_[0, np.flatnonzero(sec_row[1:] != sec_row[:-1]) + 1] if len(sec_row) else np.array([], int)
    seq_within = np.arange(len(sec_row)) - np.repeat(starts, np.diff(np.r_[starts, len(sec_row)]))
    owner = np.concatenate([np.arange(len(case_rows)), sec_row])
    seq = np.concatenate([np.ones(len(case_rows), np.int64), seq_within + 2])
    codes = np.concatenate([principal_code, sec_codes]).astype(np.int64)
    take = pa.array(owner)
    columns = {
        "row_id_hash": world.ids(f"{kind}.offence.row", len(owner)),
        "case_id_hash": case_ids.take(take),
        "defendant_row_id_hash": row_ids.take(take),
        "offence_seq": seq,
        **offence_columns(codes),
        "offence_date": dates.to_arrow(offence_date[owner]),
    }
    if disposal is not None:
        others = secondary_disposals(world, kind, disposal[sec_row])
        columns["disposal_type"] = disposal_strings(np.concatenate([disposal, others]))
    return columns, person[owner]


def secondary_disposals(world, kind: str, principal: np.ndarray) -> np.ndarray:
    """The disposals of a case's other offences: the principal offence's (justice.yaml
    `offending.secondary_same_disposal`), else otherwise dealt with; none where the case has none."""
    share = load_yaml("justice.yaml")["offending"]["secondary_same_disposal"]
    same = world.rng(f"{kind}.secondary_disposal").random(len(principal)) < share
    lesser = code_list("disposals")["otherwise_dealt_with"]
    return np.where((principal < 0) | same, principal, lesser)
