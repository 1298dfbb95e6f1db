"""The MoJ-DfE share (PNC and NPD): spec conformance, scope, school calendar, care episodes, PNC dates."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sdfirst.specs import datasets, load_yaml
from sdfirst.synth import dates
from sdfirst.synth.education import day_in_year
from sdfirst.synth.output import conform
from sdfirst.synth.tables.moj_dfe import build
from sdfirst.synth.world import Window, World

PEOPLE = 20_000


def _world(seed: int = 3) -> World:
    return World(seed=seed, chunk=0, first_id=0, n_people=PEOPLE, window=Window.of_years(2000, 2023))


@pytest.fixture(scope="module")
def world() -> World:
    return _world()


@pytest.fixture(scope="module")
def built(world):
    return {name: part.made() for name, part in build(world).items()}


def _days(col) -> np.ndarray:
    """A date32 column as int32 day numbers (NEVER for nulls)."""
    arr = pa.array(col).cast(pa.int32())
    return pc.fill_null(arr, int(dates.NEVER)).to_numpy(zero_copy_only=False).astype(np.int64)


def _np(col) -> np.ndarray:
    return pa.array(col).to_numpy(zero_copy_only=False)


def _start_years(col) -> np.ndarray:
    """2012 for '2012/13'."""
    return np.array([int(y[:4]) for y in _np(col)])


def test_spec_conformance(built):
    spec = datasets()["moj_dfe"]
    assert set(built) == set(spec.tables)
    for name, part in built.items():
        table = spec.tables[name]
        assert list(part.columns) == table.column_names, name
        data = conform(table, part.columns)
        assert data.num_rows == len(part.person)
        ids = _np(part.columns["row_id_hash"])
        assert len(np.unique(ids)) == len(ids), name
        for col in table.columns:
            if col.codes:
                values = set(pc.unique(data[col.name]).drop_null().to_pylist())
                assert values <= set(col.codes), (name, col.name, values - set(col.codes))
            if not col.nullable:
                assert data[col.name].null_count == 0, (name, col.name)


def test_every_table_has_rows(built):
    for name, part in built.items():
        assert len(part.person) > 0, name


def test_nobody_born_before_cutoff(built, world):
    cutoff = dates.day("1985-08-31")
    for name, part in built.items():
        assert (world.people.dob[part.person] > cutoff).all(), name


def test_census_ages_and_england(built, world):
    census = built["school_census"]
    start = _start_years(census.columns["academic_year"])
    age = dates.age_on(world.people.dob[census.person], day_in_year(start, 8, 31))
    assert age.min() >= 5 and age.max() <= 15
    assert (age == census.columns["year_group"] + 4).all()
    assert (start >= 2001).all() and (start <= 2019).all()
    lsoa = _np(census.columns["lsoa"])
    assert all(x.startswith("E01") for x in lsoa)
    # one row per pupil per year
    keys = np.char.add(_np(census.columns["pupil_matching_reference"]).astype(str), start.astype(str))
    assert len(np.unique(keys)) == len(keys)


def _year_by_pupil(part) -> dict[str, int]:
    pupils = _np(part.columns["pupil_matching_reference"])
    return dict(zip(pupils, _start_years(part.columns["academic_year"]), strict=True))


def test_ks2_before_ks4(built):
    ks2, ks4 = built["ks2"], built["ks4"]
    y2 = _year_by_pupil(ks2)
    y4 = _year_by_pupil(ks4)
    both = set(y2) & set(y4)
    assert both
    assert all(y4[k] - y2[k] == 5 for k in both)


def test_ks2_levels_and_scores_agree(built):
    c = built["ks2"].columns
    level = pc.fill_null(pa.array(c["maths_level"]), -1).to_numpy()
    score = pc.fill_null(pa.array(c["maths_scaled_score"]), -1).to_numpy()
    expected = np.asarray(c["maths_expected"])
    assert ((level >= 0) ^ (score >= 0)).all()
    assert ((level >= 4) == expected)[level >= 0].all()
    assert ((score >= 100) == expected)[score >= 0].all()
    assert "2019/20" not in set(_np(c["academic_year"]))


def test_exclusions_inside_school_years(built):
    c = built["exclusions"].columns
    start = _start_years(c["academic_year"])
    day = _days(c["start_date"])
    assert (day >= day_in_year(start, 9, 1)).all()
    assert (day <= day_in_year(start + 1, 7, 31)).all()
    weekday = (day + 3) % 7
    assert (weekday < 5).all()
    kinds = _np(c["exclusion_type"])
    pmr = _np(c["pupil_matching_reference"])
    permanent = pmr[kinds == "Permanent"]
    assert len(np.unique(permanent)) == len(permanent)  # at most one permanent exclusion each


def test_absence_consistent(built):
    c = built["absence"].columns
    possible, missed = np.asarray(c["sessions_possible"]), np.asarray(c["sessions_missed"])
    unauth = np.asarray(c["sessions_unauthorised"])
    assert (missed <= possible).all() and (unauth <= missed).all()
    start = _start_years(c["academic_year"])
    threshold = np.where(start >= 2015, 0.10, 0.15)
    assert (np.asarray(c["persistent_absentee"]) == (missed >= threshold * possible)).all()
    assert start.min() >= 2005


def test_care_episodes_ordered(built, world):
    part = built["children_looked_after"]
    start = _days(part.columns["period_start_date"])
    end = _days(part.columns["period_end_date"])
    assert (start <= end).all()
    order = np.lexsort((start, part.person))
    p, s, e = part.person[order], start[order], end[order]
    same = p[1:] == p[:-1]
    assert (s[1:][same] > e[:-1][same]).all()
    assert (end[end != dates.NEVER] <= dates.day("2020-03-31")).all()
    cin = built["children_in_need"]
    ref = _days(cin.columns["referral_date"])
    close = _days(cin.columns["closure_date"])
    assert (ref >= dates.day("2008-04-01")).all() and (close >= ref).all()


def _pnc_days(col) -> np.ndarray:
    """The PNC file's text dates as day numbers."""
    return _days(pc.cast(pa.array(col), pa.date32()))


def test_pnc_dates(built, world):
    part = built["pnc_offences"]
    c = part.columns
    text = _np(c["offencestartdate"])
    unknown = np.char.startswith(text.astype(str), "1900")
    assert 0 < unknown.mean() < 0.02  # the file's stand-in for an unknown date, on a few rows
    offence = _pnc_days(c["offencestartdate"])
    disposal = _pnc_days(c["disposaldate"])
    known = offence[~unknown]
    assert (known <= disposal[~unknown]).all()
    assert (known >= dates.day("2000-01-01")).all() and (disposal <= dates.day("2021-12-31")).all()
    age = np.asarray(c["offencestartage"])
    assert 0 < (age < 0).mean() < 0.02  # negative: unknown
    true_age = dates.age_on(world.people.dob[part.person], np.where(unknown, disposal, offence).astype(np.int32))
    assert (true_age >= 10).all()
    sure = ~unknown & (age >= 0)
    assert (age[sure] == true_age[sure]).all()
    cautioned = _np(c["adjudicationcode"]) == "J"
    description = _np(c["disposaldescription"])
    cautions = {"Reprimand", "Final warning", "Youth caution", "Caution"}
    assert (np.isin(description, list(cautions)) == cautioned).all()


def test_pnc_cases_and_groups(built):
    c = built["pnc_offences"].columns
    case, primary = _np(c["caseid"]), _np(c["isprimaryoffence"])
    # one primary offence per case
    cases, counts = np.unique(case[primary == "Y"], return_counts=True)
    assert (counts == 1).all() and set(cases) == set(case)
    assert len(np.unique(_np(c["offenceid"]))) == len(case)
    assert (np.asarray(c["disposalrank"]) == 1).all()
    # the group number the public code reads from the first two characters
    number = np.array([int(g[:2]) for g in _np(c["offence_group"])])
    assert set(number) <= set(range(1, 13)) and 1 in number


def test_pnc_carries_the_match(built):
    c = built["pnc_offences"].columns
    ids, pupil = _np(c["mojuid"]), pa.array(c["pupilmatchingrefanonymous"])
    matched = ~pc.is_null(pupil).to_numpy(zero_copy_only=False)
    # a person id is matched on all its rows or none, to one pupil
    by_id: dict[str, set] = {}
    for i, p in zip(ids, pupil.to_pylist(), strict=True):
        by_id.setdefault(i, set()).add(p)
    assert all(len(v) == 1 for v in by_id.values())
    share = np.mean([None not in v for v in by_id.values()])
    assert 0.8 < share < 0.99
    pupils = set(_np(built["school_census"].columns["pupil_matching_reference"]))
    assert np.mean([p in pupils for p in pupil.filter(pa.array(matched)).to_pylist()]) > 0.95


def test_risk_shows_in_schooling(built, world):
    """Offenders did worse at KS2 and were excluded more: the shared latent risk at work."""
    offenders = np.unique(built["pnc_offences"].person)
    ks2 = built["ks2"]
    both = np.asarray(ks2.columns["maths_expected"]) & np.asarray(ks2.columns["english_expected"])
    off = np.isin(ks2.person, offenders)
    assert both[off].mean() < both[~off].mean() - 0.1


def test_deterministic():
    a, b = ({name: part.made() for name, part in build(_world(5)).items()} for _ in range(2))
    for name in a:
        assert pa.table(a[name].columns).equals(pa.table(b[name].columns)), name
        assert (a[name].person == b[name].person).all()


def test_education_parameters_documented():
    par = load_yaml("education.yaml")
    for section in (
        "scope",
        "free_school_meals",
        "attainment",
        "absence",
        "exclusions",
        "children_in_need",
        "looked_after",
        "matching",
        "police",
    ):
        assert section in par


def test_public_cohort_ctes_give_the_calibration_figures(con):
    """The CTEs the book reuses reproduce the calibration metrics they were factored out of."""
    from sdfirst.calibration import education

    share = con.execute(
        f"WITH {education.cohort_ctes()} SELECT 100 * avg((person_id IN (SELECT person_id FROM sv))::INT) FROM cohort"
    ).fetchone()[0]
    assert share == pytest.approx(education.dfe_sv_offence_pct(con))
    none = con.execute(
        f"""WITH {education.ons_ctes()}
        SELECT 100 * avg((k.maths_expected AND k.english_expected)::INT)
        FROM grouped g JOIN (SELECT r_k.person_id, k.* FROM {education.records("ks2", "k")}) k USING (person_id)
        WHERE g.grp = 'none' AND k.maths_level IS NOT NULL"""
    ).fetchone()[0]
    assert none == pytest.approx(education.ons_ks2_none_pct(con))
