"""Census 2021 as linked to a set of people: who is found on census day and what the census says of them.

The census counts everyone alive and usually resident in England and Wales on census day; the linkage then finds
most of them (`link_rate`). What it records agrees with what the simulation knows of the person: their sex, age
and ethnic group (the 2011 group carried into the 2021 classification), the deprivation of the neighbourhood they
lived in on census day and their latent risk (which shift economic activity, qualifications, health, tenure and
household), and whether they were held in prison or on remand that day, which makes them residents of a
communal establishment. Every code, label and weight is in the `census_2021` section of
`synthetic/family_civil.yaml`; `tables/cafcass.py` writes the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sdfirst.specs import code_lists
from sdfirst.synth import dates
from sdfirst.synth.columns import looked_up
from sdfirst.synth.custody import case_spells
from sdfirst.synth.incapacitation import merged
from sdfirst.synth.parties import params
from sdfirst.synth.world import World

SECTION = "census_2021"


@dataclass(frozen=True)
class Census:
    """The people found in the census, with their census attributes as labels (object arrays)."""

    person: np.ndarray  # the true person of each row
    age: np.ndarray  # age on census day
    communal: np.ndarray  # bool: resident in a communal establishment (a prison) on census day
    attributes: dict[str, np.ndarray]  # sex, ethnic_group, residence_type and the drawn attributes


def cfg() -> dict[str, Any]:
    """The census parameters (read at use time, so that overrides reach them)."""
    return params()[SECTION]


def census_day() -> int:
    return dates.day(cfg()["census_day"])


def held_on(world: World, person: np.ndarray, day: int) -> np.ndarray:
    """Whether each person was held in custody (on remand, sentenced or recalled) on a day: the spells the prison
    tables tell."""
    courts = world.courts
    spells = case_spells(world, courts.cases, courts.potential_cases)
    case, start, stop = spells.held()
    held = merged(courts.cases.person[case], start, stop)
    return held.covering(person, np.full(len(person), day, dtype=np.int64)) >= 0


def find(world: World, person: np.ndarray) -> np.ndarray:
    """The distinct people, of those given, whom the linked census holds: born by census day, and linked. None
    when the run's years leave out census day (nothing is simulated then that the census could see)."""
    people = np.unique(person)
    if not world.window.start <= census_day() <= world.window.end:
        return people[:0]
    alive = world.people.dob[people] <= census_day()
    linked = world.rng("census:link").random(len(people)) < cfg()["link_rate"]
    return people[alive & linked]


def _score(world: World, person: np.ndarray, day: int) -> np.ndarray:
    """Deprivation of the census-day neighbourhood and latent risk, combined by `score`."""
    p, dep, weight = world.people, params()["deprivation"], cfg()["score"]
    sector = p.addr_sector[person, p.address_index(person, np.full(len(person), day, dtype=np.int64))]
    deprivation = (dep["centre"] - world.hoods.imd_decile[sector].astype(float)) / dep["scale"]
    return weight["deprivation"] * deprivation + weight["risk"] * p.risk[person].astype(float)


def draw(rng: np.random.Generator, spec: dict[str, Any], key: np.ndarray, score: np.ndarray, child: np.ndarray):
    """One category per row from its key's weights, each weight times exp(loading * score) (and a child factor for
    children); returns labels (an object array)."""
    names = list(spec["codes"])
    keys = list(spec["weights"])
    base = np.array([[spec["weights"][k].get(name, 0.0) for name in names] for k in keys], dtype=float)
    loading = np.array([spec["loading"].get(name, 0.0) for name in names])
    w = base[key] * np.exp(np.outer(score, loading))
    factor = np.array([spec.get("child_factor", {}).get(name, 1.0) for name in names])
    w = np.where(child[:, None], w * factor, w)
    cum = np.cumsum(w, axis=1)
    u = rng.random(len(key)) * cum[:, -1]
    pick = (cum < u[:, None]).sum(axis=1)
    return np.array(names, dtype=object)[np.minimum(pick, len(names) - 1)]


def _keys(spec: dict[str, Any], age: np.ndarray, group: np.ndarray, drawn: dict[str, np.ndarray]) -> np.ndarray:
    """The row of `weights` each person draws from: their age band, broad ethnic group or an earlier attribute."""
    keys = list(spec["weights"])
    if spec["by"] == "age":
        bands = np.array([int(k) for k in keys])
        return np.searchsorted(bands, age, side="right") - 1
    values = group if spec["by"] == "ethnic_group" else drawn[spec["by"]]
    return looked_up(values, {k: i for i, k in enumerate(keys)}).astype(np.int64)


def enumerate_people(world: World, person: np.ndarray) -> Census:
    """The census record of each person found (see `find`), as census day saw them."""
    c, day = cfg(), census_day()
    found = find(world, person)
    p = world.people
    age = dates.age_on(p.dob[found], np.full(len(found), day, dtype=np.int64))
    communal = held_on(world, found, day)
    eth = code_lists()["ethnicity"]["codes"]
    codes = list(eth)
    group = np.array([eth[k][1] for k in codes], dtype=object)[p.ethnicity[found]]
    from_2011 = np.array([c["ethnic_group"]["from_2011"][k] for k in codes], dtype=object)
    sex = list(c["sex"]["codes"])
    residence = list(c["residence_type"]["codes"])
    out: dict[str, np.ndarray] = {
        "sex": np.where(p.male[found], sex[1], sex[0]).astype(object),
        "ethnic_group": from_2011[p.ethnicity[found]],
        "residence_type": np.where(communal, c["communal"]["residence_type"], residence[0]).astype(object),
    }
    score = _score(world, found, day)
    child = age < c["child_age"]
    rng = world.rng("census:attributes")
    for name, spec in c["attributes"].items():
        out[name] = draw(rng, spec, _keys(spec, age, group, out), score, child)
    for name, value in c["communal"]["replace"].items():
        out[name] = np.where(communal & (out[name] != c["communal"]["unless"]), value, out[name]).astype(object)
    return Census(person=found, age=age.astype(np.int64), communal=communal, attributes=out)
