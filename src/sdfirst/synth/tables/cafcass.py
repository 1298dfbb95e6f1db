"""Family court - Cafcass - Census 2021 linked tables: Cafcass's cases, the people on them, and their census records.

`sdfirst.synth.cafcass` draws Cafcass's records from the family courts' children's cases and
`sdfirst.synth.census` enumerates the people on them on census day; this module only turns both into the columns
of `synthetic/datasets/cafcass.yaml`, de-identified as the release is (no names, dates of birth or postcodes: ages
instead, and one hashed person id that joins the people to their census record).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sdfirst.specs import code_lists
from sdfirst.synth import dates
from sdfirst.synth.cafcass import DATASET, CafcassCases, cfg, not_recorded_share, simulate_cafcass
from sdfirst.synth.census import Census, enumerate_people
from sdfirst.synth.columns import labels, looked_up
from sdfirst.synth.family_courts import family_courts
from sdfirst.synth.ids import to_hex
from sdfirst.synth.parties import params
from sdfirst.synth.tables import Built
from sdfirst.synth.tables.common import family_case_numbers
from sdfirst.synth.tables.party_columns import as_strings
from sdfirst.synth.world import World


def _person_hash(world: World, person: np.ndarray) -> pa.Array:
    """The release's one id per person, the same on every case and on the census record."""
    return to_hex(world.person_keys(f"{DATASET}.person", person))


def _cases_table(world: World, caf: CafcassCases, case_hash: pa.Array) -> Built:
    family = family_courts(world)
    cases = family.cases
    n = len(caf.family_case)
    family_hash = family_case_numbers(world, len(cases.issue)).take(pa.array(caf.family_case))
    children = np.bincount(caf.p_case[caf.p_role == params()["family"]["roles"]["child"]], minlength=n)
    applicant = _applicant_authority(cases, caf, family.organisations)
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.cases.row", n),
            "cafcass_case_id_hash": case_hash,
            "case_number_hash": family_hash,
            "law_type": labels(caf.law_types, caf.law_type),
            "work_type": labels(caf.work_types, caf.work_type),
            "application_received_date": dates.to_arrow(caf.received),
            "allocation_date": dates.censored(caf.allocated, caf.window.end),
            "closure_date": dates.to_arrow(caf.closed),
            "applicant_local_authority": applicant,
            "number_of_children": children.astype(np.int64),
        },
        person=np.full(n, -1, dtype=np.int64),
    )


def _applicant_authority(cases, caf: CafcassCases, organisations: tuple[str, ...]) -> pa.Array:
    """The local authority that applied (public law), from the FamilyMan organisation party; null otherwise."""
    org = np.full(len(cases.issue), -1, dtype=np.int64)
    rows = np.flatnonzero(cases.p_org >= 0)
    org[cases.p_case[rows]] = cases.p_org[rows]
    return labels(organisations, org[caf.family_case])


def _people_table(world: World, caf: CafcassCases, case_hash: pa.Array) -> Built:
    c, p = cfg(), world.people
    person, role = caf.p_person, caf.p_role
    n = len(person)
    received = caf.received[caf.p_case]
    child = role == params()["family"]["roles"]["child"]
    relationship = np.where(
        child,
        c["relationship"]["child"],
        np.where(p.male[person], c["relationship"]["male"], c["relationship"]["female"]),
    )
    year = dates.ymd(received)[0]
    unrecorded = world.rng("cafcass:ethnicity").random(n) < not_recorded_share(year)
    eth = code_lists()["ethnicity"]["codes"]
    names = [eth[k][0] for k in eth] + [c["not_recorded_label"]]
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.people.row", n),
            "cafcass_case_id_hash": case_hash.take(pa.array(caf.p_case)),
            "person_id_hash": _person_hash(world, person),
            "role": as_strings(looked_up(role, c["roles"])),
            "relationship_to_child": as_strings(relationship.astype(object)),
            "sex": as_strings(np.where(p.male[person], "M", "F").astype(object)),
            "age_at_application": dates.age_on(p.dob[person], received).astype(np.int64),
            "ethnicity": labels(names, np.where(unrecorded, len(names) - 1, p.ethnicity[person])),
        },
        person=person.astype(np.int64),
    )


def _census_table(world: World, census: Census) -> Built:
    n = len(census.person)
    return Built(
        columns={
            "row_id_hash": world.ids(f"{DATASET}.census_2021.row", n),
            "person_id_hash": _person_hash(world, census.person),
            "age": census.age,
            **{name: as_strings(values) for name, values in census.attributes.items()},
        },
        person=census.person.astype(np.int64),
    )


def build(world: World) -> dict[str, Built]:
    """The linked tables of one chunk: Cafcass cases, the people on them, and the census records found."""
    caf = simulate_cafcass(world)
    case_hash = world.ids(f"{DATASET}.case", len(caf.family_case))
    return {
        "cases": _cases_table(world, caf, case_hash),
        "people": _people_table(world, caf, case_hash),
        "census_2021": _census_table(world, enumerate_people(world, caf.p_person)),
    }
