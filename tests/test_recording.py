"""Unit tests of the recording errors (synth/recording.py) and the hashed identifiers (synth/ids.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from sdfirst.specs import load_yaml
from sdfirst.synth import dates, recording
from sdfirst.synth.ids import hex_ids, make_ids, mix64, to_hex
from sdfirst.synth.recording import (
    ERRORS,
    Draft,
    _swap_two,
    dataset_person_ids,
    dob_day_month_swapped,
    dob_defaulted,
    dob_shifted,
    ethnicity_strings,
    forename_nickname,
    record_identity,
    released_person_ids,
)
from sdfirst.synth.world import Window, World

SEED = 7


def _days(*iso: str) -> np.ndarray:
    return np.array([dates.day(s) for s in iso], dtype=np.int32)


def _iso(days: np.ndarray) -> list[str]:
    return [str(d) for d in np.asarray(days, dtype=np.int64).astype("datetime64[D]")]


def _draft(
    dob: np.ndarray,
    forename: np.ndarray | None = None,
    person: np.ndarray | None = None,
    when: np.ndarray | None = None,
    world: World | None = None,
) -> Draft:
    n = len(dob)
    person = np.zeros(n, dtype=np.int64) if person is None else person
    when = np.full(n, dates.day("2015-06-01"), dtype=np.int32) if when is None else when
    if world is not None:
        p = world.people
        k = p.address_index(person, when)
        sector, unit = p.addr_sector[person, k].copy(), p.addr_unit[person, k].copy()
        surname, middle = p.surname_on(person, when), p.middle[person].copy()
        ethnicity = p.ethnicity[person].astype(np.int16)
    else:
        sector, unit = np.zeros(n, np.int32), np.zeros(n, np.int16)
        surname, middle, ethnicity = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int16)
    return Draft(
        person=person,
        when=when,
        forename=np.zeros(n, np.int64) if forename is None else forename,
        middle=middle,
        surname=surname,
        dob=np.asarray(dob, dtype=np.int32).copy(),
        male=np.ones(n, np.int8),
        sector=sector,
        unit=unit,
        ethnicity=ethnicity,
        forename_missing=np.zeros(n, bool),
        dob_missing=np.zeros(n, bool),
        postcode_missing=np.zeros(n, bool),
        postcode_typo=np.zeros(n, bool),
    )


@pytest.fixture(scope="module")
def world() -> World:
    return World(SEED, 0, 0, 400, Window.of_years(2000, 2023))


# ---- dates of birth ------------------------------------------------------------------------------------


def test_day_month_swap_only_when_day_is_a_month():
    dob = _days("2001-03-07", "1999-01-12", "1990-02-25", "1985-05-05", "2000-12-13", "1970-11-02", "2004-02-29")
    d = _draft(dob)
    dob_day_month_swapped(d, np.random.default_rng(0), 1.0, None)
    assert _iso(d.dob) == [
        "2001-07-03",
        "1999-12-01",
        "1990-02-25",
        "1985-05-05",
        "2000-12-13",
        "1970-02-11",
        "2004-02-29",
    ]


@pytest.mark.parametrize("seed", range(5))
def test_day_month_swap_is_the_swapped_date_on_random_dates(seed):
    rng = np.random.default_rng(seed)
    dob = rng.integers(dates.day("1930-01-01"), dates.day("2015-12-31"), 2_000).astype(np.int32)
    d = _draft(dob)
    dob_day_month_swapped(d, rng, 0.5, None)
    for before, after in zip(_iso(dob), _iso(d.dob), strict=True):
        b = dt.date.fromisoformat(before)
        if after != before:
            assert b.day <= 12 and b.day != b.month
            assert dt.date.fromisoformat(after) == dt.date(b.year, b.day, b.month)


def test_defaulted_dob_is_the_first_of_january():
    dob = _days("2001-03-07", "1999-12-31", "1984-02-29", "1970-01-01")
    d = _draft(dob)
    dob_defaulted(d, np.random.default_rng(0), 1.0, None)
    assert _iso(d.dob) == ["2001-01-01", "1999-01-01", "1984-01-01", "1970-01-01"]


def test_shifted_dob_is_a_day_or_a_year_out():
    rng = np.random.default_rng(1)
    dob = rng.integers(dates.day("1930-01-01"), dates.day("2015-12-31"), 1_000).astype(np.int32)
    d = _draft(dob)
    dob_shifted(d, rng, 1.0, None)
    assert set(np.abs(d.dob.astype(np.int64) - dob)) <= {1, 365}


# ---- names ---------------------------------------------------------------------------------------------


def _forename_index(world: World, name: str) -> int:
    names = world.pools.forenames.names.to_pylist()
    return names.index(name)


def test_nickname_of_william(world):
    variants = load_yaml("recording_errors.yaml")["nicknames"]["William"]
    william = _forename_index(world, "William")
    d = _draft(np.zeros(50, np.int32), forename=np.full(50, william, dtype=np.int64))
    forename_nickname(d, np.random.default_rng(0), 1.0, world)
    names = world.pools.forenames.strings(d.forename).to_pylist()
    assert set(names) <= set(variants) and len(set(names)) == 1


def test_nickname_leaves_names_without_one(world):
    nick = world.pools.forenames.nickname
    without = np.flatnonzero(nick < 0)[:20]
    d = _draft(np.zeros(len(without), np.int32), forename=without.copy())
    forename_nickname(d, np.random.default_rng(0), 1.0, world)
    assert np.array_equal(d.forename, without)


def test_swapped_names_are_written_the_other_way_round(world, monkeypatch):
    rates = {k: 0.0 for k in ERRORS} | {"names_swapped": 1.0}
    monkeypatch.setattr(recording, "error_rates", lambda dataset: rates)
    person = np.arange(30)
    when = np.full(30, dates.day("2015-06-01"), dtype=np.int32)
    ident = record_identity(world, "magistrates", person, when, "test")
    truth = _true_identity(world, person, when)
    assert ident["forename"].to_pylist() == truth["surname"]
    assert ident["surname"].to_pylist() == truth["forename"]


# ---- error rates of zero -------------------------------------------------------------------------------


def _true_identity(world: World, person: np.ndarray, when: np.ndarray) -> dict[str, list]:
    p = world.people
    k = p.address_index(person, when)
    return {
        "forename": world.pools.forenames.strings(p.forename[person]).to_pylist(),
        "surname": world.pools.surnames.strings(p.surname_on(person, when)).to_pylist(),
        "date_of_birth": dates.to_arrow(p.dob[person]).to_pylist(),
        "sex": ["M" if m else "F" for m in p.male[person]],
        "postcode": world.hoods.postcodes(p.addr_sector[person, k], p.addr_unit[person, k]).to_pylist(),
    }


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_each_error_at_rate_zero_changes_nothing(world, kind):
    person = np.arange(len(world.people))
    when = np.random.default_rng(3).integers(dates.day("2001-01-01"), dates.day("2023-12-31"), len(person))
    d = _draft(
        world.people.dob[person],
        forename=world.people.forename[person].copy(),
        person=person,
        when=when.astype(np.int32),
        world=world,
    )
    before = {name: getattr(d, name).copy() for name in d.__dataclass_fields__}
    ERRORS[kind](d, np.random.default_rng(0), 0.0, world)
    for name, value in before.items():
        assert np.array_equal(getattr(d, name), value), f"{kind} at rate 0 changed {name}"


def test_record_identity_with_no_errors_is_the_truth(world, monkeypatch):
    monkeypatch.setattr(recording, "error_rates", lambda dataset: dict.fromkeys(ERRORS, 0.0))
    person = np.arange(len(world.people))
    when = np.random.default_rng(4).integers(dates.day("2001-01-01"), dates.day("2023-12-31"), len(person))
    when = when.astype(np.int32)
    ident = record_identity(world, "magistrates", person, when, "test")
    for column, values in _true_identity(world, person, when).items():
        assert ident[column].to_pylist() == values, column


def test_person_ids_with_no_errors_are_one_per_person(world, monkeypatch):
    monkeypatch.setattr(recording, "error_rates", lambda dataset: {"duplicate_id": 0.0})
    real = recording.load_yaml

    def no_linkage_errors(name):
        spec = real(name)
        if name == "recording_errors.yaml":
            spec = {**spec, "released_id_errors": {"split": 0.0, "merge": 0.0}}
        return spec

    monkeypatch.setattr(recording, "load_yaml", no_linkage_errors)
    person = np.repeat(np.arange(100), 3)
    for ids in (
        dataset_person_ids(world, "prison", person, np.arange(len(person))),
        released_person_ids(world, "prison", person),
    ):
        assert len(np.unique(ids)) == 100
        assert all(len(set(ids[person == i])) == 1 for i in range(100))


# ---- postcodes and ethnicity ---------------------------------------------------------------------------


@pytest.mark.parametrize("postcode", ["SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT"])
def test_postcode_typo_swaps_two_neighbouring_characters(postcode):
    rng = np.random.default_rng(0)
    for _ in range(20):
        typo = _swap_two(postcode, rng)
        assert len(typo) == len(postcode) and typo.index(" ") == postcode.index(" ")
        assert sorted(typo) == sorted(postcode)
        diff = [i for i, (a, b) in enumerate(zip(postcode, typo, strict=True)) if a != b]
        assert diff == [] or (len(diff) == 2 and diff[1] - diff[0] in (1, 2))


def test_ethnicity_not_stated():
    out = ethnicity_strings(np.array([-1, 0], dtype=np.int16), "broad_group").to_pylist()
    assert out[0] == "Not stated" and out[1] != "Not stated"


# ---- identifiers ---------------------------------------------------------------------------------------


def _mix64_reference(x: int) -> int:
    mask = 2**64 - 1
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & mask
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)


def test_mix64_is_splitmix64():
    values = [0, 1, 2, 12345, 2**32, 2**63, 2**64 - 1]
    got = mix64(np.array(values, dtype=np.uint64))
    assert [int(v) for v in got] == [_mix64_reference(v) for v in values]


def test_make_ids_are_unique():
    chunks = [make_ids(SEED, "test.row", chunk, 50_000) for chunk in range(4)]
    both = np.concatenate([*chunks, make_ids(SEED, "test.row", 0, 1_000, start=50_000)])
    assert len(np.unique(both)) == len(both)
    assert np.array_equal(make_ids(SEED, "test.row", 1, 10, start=5), chunks[1][5:15])
    assert np.array_equal(make_ids(SEED, "test.row", 2, 100), chunks[2][:100])
    assert not np.intersect1d(make_ids(SEED, "a", 0, 10_000), make_ids(SEED, "b", 0, 10_000)).size
    assert not np.array_equal(make_ids(SEED, "test.row", 0, 100), make_ids(SEED + 1, "test.row", 0, 100))


def test_make_ids_refuse_to_wrap():
    with pytest.raises(ValueError):
        make_ids(SEED, "test.row", 0, 10, start=2**32 - 5)
    with pytest.raises(ValueError):
        make_ids(SEED, "test.row", 2**24, 1)


def test_to_hex_matches_python_format():
    rng = np.random.default_rng(5)
    edge = [0, 1, 15, 16, 255, 2**32 - 1, 2**63, 2**64 - 1]
    random = rng.integers(0, 2**64 - 1, 1_000, dtype=np.uint64)
    values = np.concatenate([np.array(edge, dtype=np.uint64), random])
    out = to_hex(values)
    assert out.type == pa.string()
    strings = out.to_pylist()
    assert strings == [format(int(v), "016x") for v in values]
    assert all(len(s) == 16 and s == s.lower() and set(s) <= set("0123456789abcdef") for s in strings)


def test_to_hex_of_a_width():
    values = np.array([0, 0xABCDEF, 2**64 - 1], dtype=np.uint64)
    assert to_hex(values, width=8).to_pylist() == ["00000000", "00abcdef", "ffffffff"]


def test_to_hex_empty():
    assert to_hex(np.array([], dtype=np.uint64)).to_pylist() == []


def test_hex_ids_are_the_hex_of_make_ids():
    expected = [format(int(v), "016x") for v in make_ids(SEED, "x", 3, 20)]
    assert hex_ids(SEED, "x", 3, 20).to_pylist() == expected
