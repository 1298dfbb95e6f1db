"""Unit tests of the recording errors (synth/recording.py) and the hashed identifiers (synth/ids.py)."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from sdfirst import specs
from sdfirst.cli import main
from sdfirst.specs import load_yaml
from sdfirst.synth import dates
from sdfirst.synth.ids import hex_ids, make_ids, mix64, to_hex
from sdfirst.synth.recording import (
    ERRORS,
    Draft,
    _swap_two,
    dob_day_month_swapped,
    dob_defaulted,
    dob_shifted,
    error_rates,
    ethnicity_strings,
    forename_nickname,
    record,
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


def _rates(**set_to: float) -> dict:
    """An override of recording_errors.yaml: every rate of the default 0 (and no dataset's own), except those named
    (`omitted=1.0`, or a cell-level kind with its dot written as a double underscore: `sex__other=1.0`)."""
    spec = load_yaml("recording_errors.yaml")
    rows = {kind: set_to.get(kind, 0.0) for kind in spec["default"]["rows"]}
    columns = {
        column: {kind: set_to.get(f"{column}__{kind}", 0.0) for kind in kinds}
        for column, kinds in spec["default"]["columns"].items()
    }
    own = {  # each dataset's own rates set like the default's, so that no dataset departs from it
        name: {
            "rows": {kind: rows[kind] for kind in mine.get("rows", {})},
            "columns": {c: {k: columns[c][k] for k in kinds} for c, kinds in mine.get("columns", {}).items()},
        }
        for name, mine in spec["datasets"].items()
    }
    return {"recording_errors.yaml": {"default": {"rows": rows, "columns": columns}, "datasets": own}}


def _recorded(world: World, config: dict | None, dataset: str = "magistrates", seed: int = 4, order: bool = False):
    """Every person of the small world recorded once by `dataset` on a random day, under the overrides `config`."""
    person = np.arange(len(world.people))
    when = np.random.default_rng(seed).integers(dates.day("2001-01-01"), dates.day("2023-12-31"), len(person))
    when = when.astype(np.int32)
    with specs.overridden(specs.read_overrides(config)):
        rec = record(world, dataset, person, when, "test", order=np.argsort(when, kind="stable") if order else None)
    return person, when, rec


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


def test_swapped_names_are_written_the_other_way_round(world):
    person, when, rec = _recorded(world, _rates(forename__swapped_with_surname=1.0))
    truth = _true_identity(world, person, when)
    assert rec.identity["forename"].to_pylist() == truth["surname"]
    assert rec.identity["surname"].to_pylist() == truth["forename"]


# ---- sex ---------------------------------------------------------------------------------------------------


def test_sex_other_records_the_other_sex(world):
    person, when, rec = _recorded(world, _rates(sex__other=1.0))
    truth = _true_identity(world, person, when)["sex"]
    assert rec.identity["sex"].to_pylist() == [{"M": "F", "F": "M"}[s] for s in truth]


def test_a_sex_left_unrecorded_is_not_misrecorded(world):
    """sex.missing comes before sex.other in the order: a missing sex stays missing."""
    _, _, rec = _recorded(world, _rates(sex__missing=1.0, sex__other=1.0))
    assert rec.identity["sex"].null_count == len(world.people)


def test_sex_is_misrecorded_at_about_its_rate(world):
    """At the shipped rate, a small share of sexes disagree with the truth (none did before the error existed)."""
    big = World(SEED, 0, 0, 20_000, Window.of_years(2000, 2023))
    person, when, rec = _recorded(big, None, "prison")
    truth = np.array(_true_identity(big, person, when)["sex"])
    recorded = np.array(rec.identity["sex"].to_pylist(), dtype=object)
    wrong = np.mean((recorded != truth) & (recorded != None))  # noqa: E711 (element-wise)
    rate = error_rates("prison")["sex.other"]
    assert 0 < rate <= 0.02
    assert abs(wrong - rate) < 4 * np.sqrt(rate / len(person))


# ---- row-level errors ----------------------------------------------------------------------------------


def test_omitted_records_are_left_out_and_the_rest_unchanged(world):
    """Omission removes rows and nothing else: the records kept say what they would have said without it."""
    _, _, full = _recorded(world, None, order=True)
    change = {"recording_errors.yaml": {"datasets": {"magistrates": {"rows": {"omitted": 0.3}}}}}
    _, _, part = _recorded(world, change, order=True)
    assert 0.6 * len(world.people) < len(part.kept) < 0.8 * len(world.people)
    assert np.all(np.diff(part.kept) > 0)
    for column, values in part.identity.items():
        assert values.to_pylist() == full.identity[column].take(pa.array(part.kept)).to_pylist(), column
    assert np.array_equal(part.person_ids, full.person_ids[part.kept])  # one record a person: each the first


def test_an_omitted_first_record_passes_the_first_id_to_the_next(world):
    """Row-level errors in their order: omitted first, then duplicates, so a person's first *kept* record has the
    first id, even when the record before it was omitted."""
    person = np.repeat(np.arange(50), 4)
    when = np.tile(np.arange(4), 50).astype(np.int32) + dates.day("2015-01-01")
    config = _rates(omitted=0.5, duplicate=1.0)
    with specs.overridden(specs.read_overrides(config)):
        rec = record(world, "prison", person, when, "test", order=np.arange(len(person)))
    kept = person[rec.kept]
    first_ids = world.person_keys("person-id:prison", np.arange(50), np.zeros(50, dtype=np.int64))
    starts = np.r_[0, np.flatnonzero(np.diff(kept)) + 1]
    assert np.array_equal(rec.person_ids[starts], first_ids[kept[starts]])
    assert len(np.unique(rec.person_ids)) > len(np.unique(kept))  # and later records under a second id


def test_split_keeps_each_part_s_own_rows():
    from sdfirst.synth.recording import Recorded

    rec = Recorded(np.array([0, 2, 3, 5]), {}, None)
    a, b = rec.split(np.array([10, 11, 12]), np.array([20, 21, 22]))
    assert a.tolist() == [10, 12] and b.tolist() == [20, 22]


# ---- every rate can be reached -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_an_override_of_one_dataset_s_cell_rate_reaches_its_records(world, kind):
    """Every cell-level rate of a dataset can be set by an override, and only that dataset's changes."""
    column, error = kind.split(".")
    one = {"recording_errors.yaml": {"datasets": {"crown_court": {"columns": {column: {error: 1.0}}}}}}
    shipped = error_rates("magistrates")[kind]
    with specs.overridden(specs.read_overrides(one)):
        assert error_rates("crown_court")[kind] == 1.0 and error_rates("magistrates")[kind] == shipped
    hit = _rates()
    hit["recording_errors.yaml"]["datasets"]["crown_court"]["columns"][column] = {error: 1.0}
    _, _, plain = _recorded(world, _rates(), "crown_court")
    _, _, changed = _recorded(world, hit, "crown_court")
    assert changed.identity[column].to_pylist() != plain.identity[column].to_pylist(), kind


def test_an_override_of_a_row_rate_reaches_its_records(world):
    person = np.repeat(np.arange(len(world.people)), 3)
    when = np.tile(np.arange(3), len(world.people)).astype(np.int32) + dates.day("2015-01-01")
    order = np.arange(len(person))
    found = {}
    for name, config in {"none": _rates(), "omitted": _rates(omitted=1.0), "duplicate": _rates(duplicate=1.0)}.items():
        with specs.overridden(specs.read_overrides(config)):
            found[name] = record(world, "probation", person, when, "test", order=order)
    assert len(found["none"].kept) == len(person) and len(found["omitted"].kept) == 0
    assert len(np.unique(found["none"].person_ids)) == len(world.people)
    assert len(np.unique(found["duplicate"].person_ids)) > 1.3 * len(world.people)  # about half get a second id


def test_synth_config_omits_records_and_the_truth_lacks_them(tmp_path):
    """`synth --config` reaches a row-level rate: fewer probation records, requirements only of the events kept,
    and truth.record_person holding exactly the rows written."""
    override = tmp_path / "omit.yaml"
    override.write_text("recording_errors.yaml: {datasets: {probation: {rows: {omitted: 0.25}}}}\n", encoding="utf-8")
    common = ["synth", "--people", "2000", "--seed", "3", "--datasets", "probation"]
    assert main([*common, "--out", str(tmp_path / "plain")]) == 0
    assert main([*common, "--out", str(tmp_path / "omit"), "--config", str(override)]) == 0

    def count(folder: str, sql: str) -> int:
        con = duckdb.connect()
        for view, files in (
            ("probation_flatfile", "probation/moj_probation_flatfile_*"),
            ("probation_rqmnts", "probation/moj_probation_rqmnts_*"),
            ("truth_record_person", "truth/record_person/*.parquet"),
        ):
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{tmp_path / folder / files}')")
        return con.execute(sql).fetchone()[0]

    events, requirements = "SELECT count(*) FROM probation_flatfile", "SELECT count(*) FROM probation_rqmnts"
    assert 0.65 * count("plain", events) < count("omit", events) < 0.85 * count("plain", events)
    assert count("omit", requirements) < count("plain", requirements)
    orphans = f"{requirements} WHERE event_id_hash NOT IN (SELECT event_id_hash FROM probation_flatfile)"
    assert count("omit", orphans) == 0
    truth = "SELECT count(*) FROM truth_record_person WHERE dataset = 'probation'"
    assert count("omit", truth) == count("omit", events) + count("omit", requirements)
    unknown = f"{events} WHERE row_id_hash NOT IN (SELECT row_id_hash FROM truth_record_person)"
    assert count("omit", unknown) == 0


def test_omitted_prison_journeys_take_their_assessments_incidents_and_licences_with_them(tmp_path):
    """An omitted custodial journey leaves no OASys assessment, incident or licence pointing at a journey that is
    not there, and omitted family and civil parties leave their cases' other parties in place."""
    override = tmp_path / "omit.yaml"
    override.write_text(
        "recording_errors.yaml: {datasets: {prison: {rows: {omitted: 0.3}}, family: {rows: {omitted: 0.3}},"
        " civil: {rows: {omitted: 0.3}}}}\n",
        encoding="utf-8",
    )
    common = ["synth", "--people", "3000", "--seed", "5", "--datasets", "prison,family,civil"]
    assert main([*common, "--out", str(tmp_path / "plain")]) == 0
    assert main([*common, "--out", str(tmp_path / "omit"), "--config", str(override)]) == 0

    def count(folder: str, sql: str) -> int:
        con = duckdb.connect()
        for view in (
            "prison/custodial_journey",
            "prison/oasys_assessment",
            "prison/safety_incident",
            "prison/rotl",
            "family/parties",
            "civil/parties",
            "truth/record_person",
        ):
            files = tmp_path / folder / view / "*.parquet"
            con.execute(f"CREATE VIEW {view.replace('/', '_')} AS SELECT * FROM read_parquet('{files}')")
        return con.execute(sql).fetchone()[0]

    journeys = "SELECT count(*) FROM prison_custodial_journey"
    assert 0.6 * count("plain", journeys) < count("omit", journeys) < 0.8 * count("plain", journeys)
    for table in ("oasys_assessment", "safety_incident", "rotl"):
        rows = f"SELECT count(*) FROM prison_{table}"
        assert count("omit", rows) < count("plain", rows), table
        orphans = f"{rows} WHERE offender_id NOT IN (SELECT offender_id FROM prison_custodial_journey)"
        assert count("omit", orphans) == 0, table
    licences = "SELECT count(*) FROM prison_rotl WHERE journey_row_id_hash NOT IN"
    assert count("omit", f"{licences} (SELECT row_id_hash FROM prison_custodial_journey)") == 0
    for dataset in ("family", "civil"):
        people = f"SELECT count(*) FROM {dataset}_parties WHERE party_type = 'Person'"
        organisations = f"SELECT count(*) FROM {dataset}_parties WHERE party_type <> 'Person'"
        assert count("omit", people) < 0.8 * count("plain", people), dataset
        assert count("omit", organisations) == count("plain", organisations), dataset
        assert count("omit", f"{people} AND party_id IS NULL") == 0, dataset
    for table in ("prison_custodial_journey", "family_parties", "civil_parties"):
        assert (
            count(
                "omit",
                f"SELECT count(*) FROM {table} WHERE row_id_hash NOT IN (SELECT row_id_hash FROM truth_record_person)",
            )
            == 0
        ), table


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


def test_record_with_no_errors_is_the_truth(world):
    person, when, rec = _recorded(world, _rates())
    assert np.array_equal(rec.kept, person)
    for column, values in _true_identity(world, person, when).items():
        assert rec.identity[column].to_pylist() == values, column


def test_person_ids_with_no_errors_are_one_per_person(world):
    config = _rates()
    config["recording_errors.yaml"]["released_id_errors"] = {"split": 0.0, "merge": 0.0}
    person = np.repeat(np.arange(100), 3)
    when = np.full(len(person), dates.day("2015-06-01"), dtype=np.int32)
    with specs.overridden(specs.read_overrides(config)):
        rec = record(world, "prison", person, when, "test", order=np.arange(len(person)))
        released = released_person_ids(world, "prison", person)
    for ids in (rec.person_ids, released):
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
