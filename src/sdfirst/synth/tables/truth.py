"""truth.people, truth.addresses and truth.case_journey: what really happened (record_person is added by the runner)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sdfirst.synth import dates
from sdfirst.synth.codes import code_list
from sdfirst.synth.columns import either
from sdfirst.synth.courts import NONE
from sdfirst.synth.population import ethnicity_table
from sdfirst.synth.tables import Built
from sdfirst.synth.tables.common import crown_case_ids, crown_case_key, mags_case_ids


def _people(world) -> Built:
    p = world.people
    keys, _, broad, _ = ethnicity_table()
    names = world.pools
    n = len(p)
    return Built(
        {
            "person_id": p.person_id,
            "sex": either(p.male, "M", "F"),
            "date_of_birth": dates.to_arrow(p.dob),
            "ethnicity_code": pa.array(keys).take(pa.array(p.ethnicity.astype(np.int64))),
            "ethnic_group": pa.array(broad).take(pa.array(p.ethnicity.astype(np.int64))),
            "forename": names.forenames.strings(p.forename),
            "middle_name": names.forenames.strings(p.middle, p.middle < 0),
            "surname_at_birth": names.surnames.strings(p.surname),
            "later_surname": names.surnames.strings(p.new_surname, p.new_surname < 0),
            "surname_change_date": dates.to_arrow(p.surname_changed),
            "latent_risk": p.risk.astype(np.float64),
            "imd_decile": p.deprivation.astype(np.int64),
        },
        np.arange(n),
    )


def _addresses(world) -> Built:
    p = world.people
    used = p.addr_start != dates.NEVER
    person, slot = np.nonzero(used)
    start = p.addr_start[person, slot]
    k_max = p.addr_start.shape[1]
    nxt = np.where(slot + 1 < k_max, p.addr_start[person, np.minimum(slot + 1, k_max - 1)], dates.NEVER)
    end = np.where(nxt == dates.NEVER, dates.NEVER, nxt - 1)
    sector = p.addr_sector[person, slot]
    hoods = world.hoods
    return Built(
        {
            "person_id": p.person_id[person],
            "address_seq": slot.astype(np.int64) + 1,
            "start_date": dates.to_arrow(start),
            "end_date": dates.to_arrow(end),
            "postcode": hoods.postcodes(sector, p.addr_unit[person, slot]),
            "lsoa": hoods.lsoa.take(pa.array(sector)),
            "imd_decile": hoods.imd_decile[sector].astype(np.int64),
            "region": pa.array(hoods.regions).take(pa.array(hoods.region[sector].astype(np.int64))),
        },
        person,
    )


def _case_journey(world) -> Built:
    """Magistrates' cases that reached the Crown Court, where both records fall inside their datasets' windows."""
    c = world.courts.cases
    mags = world.covered("magistrates", c.first_hearing, c.case_group)
    crown = world.covered("crown_court", c.crown_receipt, crown_case_key(c))
    rows = np.flatnonzero((c.crown_type != NONE) & mags & crown)
    pairs = np.unique(np.stack([c.case_group[rows], c.crown_type[rows].astype(np.int64)], axis=1), axis=0)
    group, ctype = pairs[:, 0], pairs[:, 1]
    return Built(
        {
            "mags_case_id_hash": mags_case_ids(world, group),
            "crown_case_id_hash": crown_case_ids(world, group, ctype),
            "crown_case_type": code_list("crown_case_types").strings(ctype),
        },
        np.full(len(group), -1, dtype=np.int64),
    )


def build(world) -> dict[str, Built]:
    return {"people": _people(world), "addresses": _addresses(world), "case_journey": _case_journey(world)}
