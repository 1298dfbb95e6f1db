"""How each system records a person: the recording errors, applied vectorised and in one written-down order.

`synthetic/recording_errors.yaml` holds the errors as a tree, dataset -> rows or columns -> error type -> rate,
each dataset inheriting the default where it says nothing. `record` applies them to a batch of would-be records
of one dataset, in the order the file's header gives: the row-level errors first (a record omitted; a person's
second id in the dataset), then the cell-level ones in the file's `order`. A record starts from the truth on the
day it was made (the surname then in use, the address then lived at) and each cell-level error is one small
function over the whole batch.

Each error draws from random streams of its own call site, and the cell-level errors draw for every row, omitted
or not, so that switching omission on removes rows without changing what the remaining rows say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdfirst import spec_schema
from sdfirst.specs import code_lists, load_yaml
from sdfirst.synth import dates
from sdfirst.synth.columns import either
from sdfirst.synth.pools import TYPO_VARIANTS
from sdfirst.synth.population import ethnicity_table


def error_rates(dataset: str) -> dict[str, float]:
    """The recording error rates of one dataset, flat: `omitted` and `duplicate` for the rows, `column.type` (such as
    `ethnicity.other`) for the cells; each the dataset's own where the file gives one, the default's otherwise."""
    spec = load_yaml("recording_errors.yaml")
    own = spec.get("datasets", {}).get(dataset, {})
    rates = {kind: float(own.get("rows", {}).get(kind, rate)) for kind, rate in spec["default"]["rows"].items()}
    for column, kinds in spec["default"]["columns"].items():
        mine = own.get("columns", {}).get(column, {})
        rates |= {f"{column}.{kind}": float(mine.get(kind, rate)) for kind, rate in kinds.items()}
    return rates


def recording_datasets() -> list[str]:
    """The datasets whose records pass through the recording errors (those the file's shape names)."""
    return spec_schema.named_keys("recording_errors.yaml", ["datasets"])


def applied_order() -> list[str]:
    """Every error in the order `record` applies them: the row-level ones, then the file's `order`."""
    return ["omitted", "duplicate", *load_yaml("recording_errors.yaml")["order"]]


@dataclass
class Draft:
    """A batch of records on their way to being written: indices and days, not yet strings."""

    person: np.ndarray
    when: np.ndarray
    forename: np.ndarray
    middle: np.ndarray
    surname: np.ndarray
    dob: np.ndarray
    male: np.ndarray  # int8: 1 male, 0 female, -1 not recorded
    sector: np.ndarray
    unit: np.ndarray
    ethnicity: np.ndarray  # int16 index into the ethnicity codes, -1 not stated
    forename_missing: np.ndarray
    dob_missing: np.ndarray
    postcode_missing: np.ndarray
    postcode_typo: np.ndarray


Error = Callable[[Draft, np.random.Generator, float, object], None]


def _hit(rng: np.random.Generator, rate: float, n: int) -> np.ndarray:
    return rng.random(n) < rate


def forename_nickname(d: Draft, rng, rate, world) -> None:
    nick = world.pools.forenames.nickname
    real = d.forename < len(nick)
    has = np.zeros(len(d.forename), dtype=bool)
    has[real] = nick[d.forename[real]] >= 0
    rows = np.flatnonzero(has & _hit(rng, rate, len(has)))
    d.forename[rows] = nick[d.forename[rows]]


def _typo(index: np.ndarray, rng, rate, table) -> None:
    real = index < len(table.typos)
    rows = np.flatnonzero(real & (index >= 0) & _hit(rng, rate, len(index)))
    index[rows] = table.typos[index[rows], rng.integers(0, TYPO_VARIANTS, len(rows))]


def forename_typo(d: Draft, rng, rate, world) -> None:
    _typo(d.forename, rng, rate, world.pools.forenames)


def surname_typo(d: Draft, rng, rate, world) -> None:
    _typo(d.surname, rng, rate, world.pools.surnames)


def surname_old(d: Draft, rng, rate, world) -> None:
    """After a change, some records keep the old surname; a few use the new one before the change."""
    p = world.people
    has_new = p.new_surname[d.person] >= 0
    after = has_new & (p.surname_changed[d.person] <= d.when)
    rows = np.flatnonzero(after & _hit(rng, rate, len(d.person)))
    d.surname[rows] = p.surname[d.person[rows]]
    early = np.flatnonzero(has_new & ~after & _hit(rng, rate / 10, len(d.person)))
    d.surname[early] = p.new_surname[d.person[early]]


def alias(d: Draft, rng, rate, world) -> None:
    rows = np.flatnonzero(_hit(rng, rate, len(d.person)))
    p = world.people
    surname_only = rng.random(len(rows)) < 0.5
    d.surname[rows] = p.alias_surname[d.person[rows]]
    d.forename[rows] = np.where(surname_only, d.forename[rows], p.alias_forename[d.person[rows]])


def names_swapped(d: Draft, rng, rate, world) -> None:
    """Forename and surname the wrong way round: the surname string goes in the forename field."""
    rows = np.flatnonzero(_hit(rng, rate, len(d.person)))
    d.forename[rows], d.surname[rows] = -2 - d.surname[rows], -2 - d.forename[rows]


def middle_name_missing(d: Draft, rng, rate, world) -> None:
    d.middle[_hit(rng, rate, len(d.middle))] = -1


def dob_day_month_swapped(d: Draft, rng, rate, world) -> None:
    _, month, day = dates.ymd(d.dob)
    rows = np.flatnonzero((day <= 12) & (day != month) & _hit(rng, rate, len(d.dob)))
    year = d.dob[rows].astype("datetime64[D]").astype("datetime64[Y]")
    swapped = (year.astype("datetime64[M]") + (day[rows] - 1)).astype("datetime64[D]") + (month[rows] - 1)
    d.dob[rows] = swapped.astype(np.int32)


def dob_defaulted(d: Draft, rng, rate, world) -> None:
    rows = np.flatnonzero(_hit(rng, rate, len(d.dob)))
    d.dob[rows] = d.dob[rows].astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]").astype(np.int32)


def dob_shifted(d: Draft, rng, rate, world) -> None:
    rows = np.flatnonzero(_hit(rng, rate, len(d.dob)))
    by_year = rng.random(len(rows)) < 0.4
    step = rng.choice(np.array([-1, 1]), len(rows))
    d.dob[rows] = np.where(by_year, dates.add_years(d.dob[rows], step), d.dob[rows] + step).astype(np.int32)


def postcode_stale(d: Draft, rng, rate, world) -> None:
    k = world.people.address_index(d.person, d.when)
    rows = np.flatnonzero((k > 0) & _hit(rng, rate, len(k)))
    d.sector[rows] = world.people.addr_sector[d.person[rows], k[rows] - 1]
    d.unit[rows] = world.people.addr_unit[d.person[rows], k[rows] - 1]


def postcode_typo(d: Draft, rng, rate, world) -> None:
    d.postcode_typo |= _hit(rng, rate, len(d.person))


def ethnicity_other(d: Draft, rng, rate, world) -> None:
    """Another category of the same broad group (or, for a third of errors, not stated)."""
    _, _, broad, _ = ethnicity_table()
    broad = np.array(broad)
    rows = np.flatnonzero(_hit(rng, rate, len(d.ethnicity)) & (d.ethnicity >= 0))
    not_stated = rng.random(len(rows)) < 1 / 3
    d.ethnicity[rows[not_stated]] = -1
    rows = rows[~not_stated]
    for group in np.unique(broad):
        members = np.flatnonzero(broad == group)
        hit = rows[np.isin(d.ethnicity[rows], members)]
        d.ethnicity[hit] = rng.choice(members, len(hit))


def sex_missing(d: Draft, rng, rate, world) -> None:
    d.male[_hit(rng, rate, len(d.male))] = -1


def sex_other(d: Draft, rng, rate, world) -> None:
    """Recorded as the other sex; a sex left unrecorded stays unrecorded."""
    rows = np.flatnonzero((d.male >= 0) & _hit(rng, rate, len(d.male)))
    d.male[rows] = 1 - d.male[rows]


def forename_missing(d: Draft, rng, rate, world) -> None:
    d.forename_missing |= _hit(rng, rate, len(d.person))


def dob_missing(d: Draft, rng, rate, world) -> None:
    d.dob_missing |= _hit(rng, rate, len(d.person))


def postcode_missing(d: Draft, rng, rate, world) -> None:
    d.postcode_missing |= _hit(rng, rate, len(d.person))


ERRORS: dict[str, Error] = {  # each cell-level error by its name in the file: column.type
    "forename.nickname": forename_nickname,
    "forename.typo": forename_typo,
    "surname.typo": surname_typo,
    "surname.old": surname_old,
    "surname.alias": alias,
    "forename.swapped_with_surname": names_swapped,
    "middle_name.missing": middle_name_missing,
    "date_of_birth.day_month_swapped": dob_day_month_swapped,
    "date_of_birth.defaulted": dob_defaulted,
    "date_of_birth.shifted": dob_shifted,
    "postcode.stale": postcode_stale,
    "postcode.typo": postcode_typo,
    "ethnicity.other": ethnicity_other,
    "sex.missing": sex_missing,
    "sex.other": sex_other,
    "forename.missing": forename_missing,
    "date_of_birth.missing": dob_missing,
    "postcode.missing": postcode_missing,
}


def _names(index: np.ndarray, own, other, missing: np.ndarray | None = None) -> pa.Array:
    """Strings for name indices; negative indices below -1 point into the other table (swapped names)."""
    swapped = index <= -2
    out = own.strings(np.where(swapped | (index < 0), 0, index))
    if swapped.any():
        other_names = other.strings(np.where(swapped, -2 - index, 0))
        out = pc.if_else(pa.array(swapped), other_names, out)
    nulls = (index == -1) if missing is None else (index == -1) | missing
    return pc.if_else(pa.array(nulls), pa.scalar(None, pa.string()), out)


def _swap_two(postcode: str, rng: np.random.Generator) -> str:
    chars = [i for i, c in enumerate(postcode) if c != " "]
    i = int(rng.integers(0, len(chars) - 1))
    a, b = chars[i], chars[i + 1]
    s = list(postcode)
    s[a], s[b] = s[b], s[a]
    return "".join(s)


def ethnicity_strings(index: np.ndarray, coding: str) -> pa.Array:
    """Ethnicity in a system's own coding; -1 becomes that system's 'not stated' value."""
    lists = code_lists()
    keys, _, broad, _ = ethnicity_table()
    labels = {
        "ndelius_label": [lists["ndelius_ethnicity_labels"][k] for k in keys],
        "nomis_label": [lists["nomis_ethnicity_labels"][k] for k in keys],
        "broad_group": broad,
        "dfe_major": [lists["dfe_ethnicity_codes"][k] for k in keys],
        "pnc_self_defined": keys,
    }[coding]
    not_stated = lists["ethnicity_codings"][coding]["not_stated"][0]
    table = pa.array([*labels, not_stated])
    return table.take(pa.array(np.where(index < 0, len(labels), index)))


@dataclass(frozen=True)
class Recorded:
    """What one system recorded of a batch of would-be records: which were recorded at all, and how.

    `kept` indexes the batch's rows that were recorded (the others were omitted); `identity` and `person_ids` are
    of those rows only, in the same order.
    """

    kept: np.ndarray
    identity: dict[str, pa.Array]
    person_ids: np.ndarray | None

    def split(self, *parts: np.ndarray) -> tuple[np.ndarray, ...]:
        """Each of the arrays whose concatenation was the batch, less its omitted rows (a builder that records two
        kinds of row together, such as cases and breach hearings, keeps each kind's own rows)."""
        ends = np.cumsum([len(part) for part in parts])
        starts = ends - [len(part) for part in parts]
        return tuple(
            part[self.kept[(self.kept >= lo) & (self.kept < hi)] - lo]
            for part, lo, hi in zip(parts, starts, ends, strict=True)
        )


def record(
    world,
    dataset: str,
    person: np.ndarray,
    when: np.ndarray,
    stream: str,
    ethnicity_coding: str = "ndelius_label",
    order: np.ndarray | None = None,
) -> Recorded:
    """Record a batch of one dataset's records (person, on the day `when`), with every recording error in order.

    Row-level first: some records are omitted, then, if `order` (sorting the batch in time) is given, each kept
    record gets the dataset's own person id, with some people's later records under a second id. Cell-level next:
    the identity columns, through each error of the file's `order`. `stream` names the random streams, one per
    call site. The identity holds forename, middle_name, surname, date_of_birth, sex, postcode, ethnicity and lsoa
    (the LSOA of the address actually lived at, as a release derives it, free of recording error).
    """
    person = np.asarray(person, dtype=np.int64)
    when = np.asarray(when, dtype=np.int32)
    rates = error_rates(dataset)
    omitted = _hit(world.rng(f"omitted:{stream}"), rates["omitted"], len(person)) if rates["omitted"] > 0 else None
    kept = np.arange(len(person)) if omitted is None else np.flatnonzero(~omitted)
    ids = None if order is None else _person_ids(world, dataset, person, order, kept, rates["duplicate"])
    identity = _cells(world, rates, person, when, stream, ethnicity_coding)
    if omitted is not None:
        identity = {name: column.take(pa.array(kept)) for name, column in identity.items()}
    return Recorded(kept, identity, ids)


def _cells(world, rates: dict[str, float], person: np.ndarray, when: np.ndarray, stream: str, coding: str) -> dict:
    """The identity columns of every row of the batch, through the cell-level errors in the file's order."""
    rng = world.rng(f"recording:{stream}")
    p = world.people
    n = len(person)
    k = p.address_index(person, when)
    draft = Draft(
        person=person,
        when=when,
        forename=p.forename[person].copy(),
        middle=p.middle[person].copy(),
        surname=p.surname_on(person, when),
        dob=p.dob[person].copy(),
        male=p.male[person].astype(np.int8),
        sector=p.addr_sector[person, k].copy(),
        unit=p.addr_unit[person, k].copy(),
        ethnicity=p.ethnicity[person].astype(np.int16),
        forename_missing=np.zeros(n, bool),
        dob_missing=np.zeros(n, bool),
        postcode_missing=np.zeros(n, bool),
        postcode_typo=np.zeros(n, bool),
    )
    for kind in load_yaml("recording_errors.yaml")["order"]:
        if rates[kind] > 0:
            ERRORS[kind](draft, rng, rates[kind], world)
    postcode = world.hoods.postcodes(draft.sector, draft.unit)
    typo_rows = np.flatnonzero(draft.postcode_typo & ~draft.postcode_missing)
    if len(typo_rows):
        swapped = [_swap_two(code, rng) for code in postcode.take(pa.array(typo_rows)).to_pylist()]
        typo = np.zeros(n, dtype=bool)
        typo[typo_rows] = True
        postcode = pc.replace_with_mask(postcode, pa.array(typo), pa.array(swapped, pa.string()))
    names = world.pools
    return {
        "forename": _names(draft.forename, names.forenames, names.surnames, draft.forename_missing),
        "middle_name": _names(draft.middle, names.forenames, names.surnames),
        "surname": _names(draft.surname, names.surnames, names.forenames),
        "date_of_birth": dates.to_arrow(draft.dob, draft.dob_missing),
        "sex": either(draft.male == 1, "M", "F", missing=draft.male < 0),
        "postcode": pc.if_else(pa.array(draft.postcode_missing), pa.scalar(None, pa.string()), postcode),
        "ethnicity": ethnicity_strings(draft.ethnicity, coding),
        "lsoa": world.hoods.lsoa.take(pa.array(p.addr_sector[person, k])),
    }


def _person_ids(world, dataset: str, person: np.ndarray, order: np.ndarray, kept: np.ndarray, rate: float):
    """A system's own person id for each kept record: one per person, except that some people get a second id.

    `order` sorts the batch in time; a person's first kept record always carries the first id, later ones carry
    the duplicate half the time, as when a clerk fails to find the existing record. The draws are made for every
    row of the batch, so that omitting records changes no other record's id.
    """
    rng = world.rng(f"duplicate-ids:{dataset}")
    has_dup = rng.random(len(world.people)) < rate
    pick = (rng.random(len(person)) < 0.5) & has_dup[person]
    recorded = np.zeros(len(person), dtype=bool)
    recorded[kept] = True
    ordered = np.asarray(order)[recorded[order]]
    first = np.zeros(len(person), dtype=bool)
    _, first_pos = np.unique(person[ordered], return_index=True)
    first[ordered[first_pos]] = True
    variant = np.where(pick & ~first, 1, 0)
    return world.person_keys(f"person-id:{dataset}", person[kept], variant[kept])


def released_person_ids(world, dataset: str, person: np.ndarray) -> np.ndarray:
    """The per-dataset person id that a release carries (estimated_offender_id): truth with MoJ's linkage errors."""
    rng = world.rng(f"released-ids:{dataset}")
    errs = load_yaml("recording_errors.yaml")["released_id_errors"]
    n = len(person)
    split = rng.random(n) < errs["split"]
    merge = rng.random(n) < errs["merge"]
    target = person.copy()
    if n:
        target[merge] = person[rng.integers(0, n, merge.sum())]
    return world.person_keys(f"released-id:{dataset}", target, np.where(split & ~merge, 1, 0))
