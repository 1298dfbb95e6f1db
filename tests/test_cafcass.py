"""Tests of the family court - Cafcass - Census 2021 linked dataset: on the session's generated folder (SQL, with the
truth) and on a small World (the census's agreement with what the simulation knows)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from conftest import scalar
from sdfirst.specs import code_lists, datasets, load_yaml
from sdfirst.synth import census, dates
from sdfirst.synth.cafcass import simulate_cafcass
from sdfirst.synth.custody import case_spells
from sdfirst.synth.family_courts import family_courts
from sdfirst.synth.tables import cafcass, family
from sdfirst.synth.world import Window, World

CFG = load_yaml("family_civil.yaml")
CAFCASS, CENSUS = CFG["cafcass"], CFG["census_2021"]
CENSUS_DAY = str(CENSUS["census_day"])


def make_world(seed: int = 5, n: int = 20000) -> World:
    return World(seed=seed, chunk=0, first_id=0, n_people=n, window=Window.of_years(2000, 2023))


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


@pytest.fixture(scope="module")
def built():
    """The linked tables of a world that built nothing else first."""
    return cafcass.build(make_world())


# --- on the generated folder -----------------------------------------------------------------------------------


def test_every_cafcass_case_joins_a_family_case_of_its_law_type(con):
    total = scalar(con, "SELECT count(*) FROM cafcass.cases")
    assert total > 100
    joined = scalar(
        con,
        """SELECT count(*) FROM cafcass.cases c JOIN family.cases f USING (case_number_hash)
           WHERE f.case_type = c.law_type AND f.case_type IN ('Public law', 'Private law')""",
    )
    assert joined == total
    # one Cafcass case per family case, and both law types present
    assert scalar(con, "SELECT count(DISTINCT case_number_hash) FROM cafcass.cases") == total
    assert scalar(con, "SELECT count(DISTINCT law_type) FROM cafcass.cases") == 2


def test_only_english_cases_reach_cafcass(con):
    fmt = CFG["family"]["court_name_format"]
    areas = code_lists()["postcode_areas"]["codes"].values()
    welsh = sorted({fmt.format(town=town) for _, country, _, town in areas if country == "Wales"})
    assert welsh
    courts = ", ".join(f"'{w}'" for w in welsh)
    childrens = "case_type IN ('Public law', 'Private law')"
    assert scalar(con, f"SELECT count(*) FROM family.cases WHERE {childrens} AND originating_court IN ({courts})") > 0
    assert (
        scalar(
            con,
            f"""SELECT count(*) FROM cafcass.cases c JOIN family.cases f USING (case_number_hash)
            WHERE f.originating_court IN ({courts})""",
        )
        == 0
    )


def test_public_law_cases_name_their_applicant_local_authority(con):
    rows = con.execute(
        """SELECT law_type, count(*) FILTER (WHERE applicant_local_authority IS NULL), count(*)
           FROM cafcass.cases GROUP BY law_type"""
    ).fetchall()
    by_law = {law: (missing, n) for law, missing, n in rows}
    assert by_law["Public law"][0] == 0
    assert by_law["Private law"][0] == by_law["Private law"][1]


def test_dates_are_in_order_and_inside_the_coverage(con):
    start, end = datasets()["cafcass"].coverage
    bad = scalar(
        con,
        f"""SELECT count(*) FROM cafcass.cases c JOIN family.cases f USING (case_number_hash)
            WHERE c.application_received_date < f.issue_date
               OR c.application_received_date < DATE '{start}' OR c.application_received_date > DATE '{end}'
               OR c.allocation_date < c.application_received_date OR c.allocation_date > DATE '{end}'
               OR c.closure_date < c.allocation_date OR c.closure_date > DATE '{end}'
               OR c.closure_date < f.disposal_date""",
    )
    assert bad == 0
    # a case whose family case is still open cannot be closed by Cafcass before the family court's coverage ends
    longest = max(hi for _, hi in CAFCASS["received_days"].values())
    assert (
        scalar(
            con,
            f"""SELECT count(*) FROM cafcass.cases c JOIN family.cases f USING (case_number_hash)
            WHERE c.application_received_date > f.issue_date + {longest}""",
        )
        == 0
    )


def test_people_have_the_roles_and_ages_of_their_case(con):
    adult = CFG["adult_age"]
    child = CAFCASS["roles"]["child"]
    assert (
        scalar(con, "SELECT count(*) FROM cafcass.people p ANTI JOIN cafcass.cases c USING (cafcass_case_id_hash)") == 0
    )
    assert (
        scalar(
            con,
            f"""SELECT count(*) FROM cafcass.people WHERE (role = '{child}') != (age_at_application < {adult})""",
        )
        == 0
    )
    mismatched = scalar(
        con,
        f"""SELECT count(*) FROM cafcass.cases c
            JOIN (SELECT cafcass_case_id_hash, count(*) AS n FROM cafcass.people WHERE role = '{child}'
                  GROUP BY 1) k USING (cafcass_case_id_hash)
            WHERE k.n != c.number_of_children""",
    )
    assert mismatched == 0
    # every case has a subject child, and a mother or father is recorded by sex
    assert (
        scalar(
            con,
            f"SELECT count(*) FROM cafcass.cases ANTI JOIN (SELECT * FROM cafcass.people WHERE role = '{child}') "
            "USING (cafcass_case_id_hash)",
        )
        == 0
    )
    rel = CAFCASS["relationship"]
    assert (
        scalar(
            con,
            f"""SELECT count(*) FROM cafcass.people WHERE role != '{child}' AND
            NOT ((sex = 'F' AND relationship_to_child = '{rel["female"]}') OR
                 (sex = 'M' AND relationship_to_child = '{rel["male"]}'))""",
        )
        == 0
    )


def _truth(con, table: str) -> str:
    return f"""(SELECT t.*, r.person_id FROM cafcass.{table} t JOIN truth.record_person r
                ON r.dataset = 'cafcass' AND r.table_name = '{table}' AND r.row_id_hash = t.row_id_hash)"""


def test_one_person_id_per_true_person_across_people_and_census(con):
    # the person id is the same true person in both tables, and one per person
    assert (
        scalar(
            con,
            f"SELECT count(*) FROM (SELECT person_id_hash FROM {_truth(con, 'people')} GROUP BY 1 "
            "HAVING count(DISTINCT person_id) > 1)",
        )
        == 0
    )
    assert (
        scalar(
            con,
            f"""SELECT count(*) FROM {_truth(con, "census_2021")} c JOIN {_truth(con, "people")} p
            USING (person_id_hash) WHERE c.person_id != p.person_id""",
        )
        == 0
    )
    assert scalar(con, "SELECT count(*) - count(DISTINCT person_id_hash) FROM cafcass.census_2021") == 0
    assert scalar(con, "SELECT count(*) FROM cafcass.census_2021 ANTI JOIN cafcass.people USING (person_id_hash)") == 0


def test_census_rows_agree_with_the_true_person(con):
    rows = con.execute(
        f"""SELECT c.sex, c.age, c.ethnic_group, t.sex, t.date_of_birth, t.ethnicity_code
            FROM {_truth(con, "census_2021")} c JOIN truth.people t USING (person_id)"""
    ).fetchall()
    assert len(rows) > 100
    sex = dict(zip(["F", "M"], CENSUS["sex"]["codes"], strict=True))
    census_day = dates.day(CENSUS_DAY)
    for c_sex, age, group, t_sex, dob, code in rows:
        assert c_sex == sex[t_sex]
        assert dates.day(dob) <= census_day  # alive (born) on census day
        assert age == int(dates.age_on(np.array([dates.day(dob)]), np.array([census_day]))[0])
        assert group == CENSUS["ethnic_group"]["from_2011"][code]


def test_the_link_rate_is_near_the_spec(con):
    eligible = scalar(
        con,
        f"""SELECT count(DISTINCT p.person_id) FROM {_truth(con, "people")} p JOIN truth.people t USING (person_id)
            WHERE t.date_of_birth <= DATE '{CENSUS_DAY}'""",
    )
    found = scalar(con, "SELECT count(*) FROM cafcass.census_2021")
    rate = CENSUS["link_rate"]
    assert abs(found / eligible - rate) < 4 * np.sqrt(rate * (1 - rate) / eligible)


def test_census_attributes_use_the_classifications(con):
    for name, spec in CENSUS["attributes"].items():
        values = {v for (v,) in con.execute(f"SELECT DISTINCT {name} FROM cafcass.census_2021").fetchall()}
        assert values <= set(spec["codes"]), name
    # no economic activity or qualification under 16; every adult has one
    under = CENSUS["child_age"]
    for name in ("economic_activity", "highest_qualification"):
        assert (
            scalar(
                con, f"SELECT count(*) FROM cafcass.census_2021 WHERE (age < {under}) != ({name} = 'Does not apply')"
            )
            == 0
        )


def test_deprived_neighbourhoods_rent_socially_more_often(con):
    rows = con.execute(
        f"""SELECT a.imd_decile <= 3, avg((c.tenure = 'Rented: Social rented')::int)
            FROM {_truth(con, "census_2021")} c JOIN truth.addresses a USING (person_id)
            WHERE a.start_date <= DATE '{CENSUS_DAY}' AND (a.end_date IS NULL OR a.end_date >= DATE '{CENSUS_DAY}')
              AND a.imd_decile NOT IN (4, 5, 6, 7) AND c.residence_type = 'Lives in a household'
            GROUP BY 1"""
    ).fetchall()
    share = dict(rows)
    assert share[True] > share[False] + 0.05


# --- on a small World ----------------------------------------------------------------------------------------


def test_communal_residents_are_exactly_those_held_on_census_day(world: World):
    caf = simulate_cafcass(world)
    found = census.find(world, caf.p_person)
    day = census.census_day()
    # held: any case's custody spell (remand, sentence, recall) covers census day, checked one spell at a time
    courts = world.courts
    case, start, stop = case_spells(world, courts.cases, courts.potential_cases).held()
    covering = (start <= day) & (day < stop)
    held = set(courts.cases.person[case[covering]].tolist())
    out = census.enumerate_people(world, caf.p_person)
    assert np.array_equal(out.person, found)
    assert out.communal.tolist() == [p in held for p in found.tolist()]
    assert out.communal.any(), "no communal resident in the test world: the check says nothing"
    rep = CENSUS["communal"]
    for name, value in rep["replace"].items():
        col = out.attributes[name][out.communal]
        assert set(col.tolist()) <= {value, rep["unless"]}
    assert set(out.attributes["residence_type"][out.communal].tolist()) == {rep["residence_type"]}


def test_cafcass_cases_are_the_family_courts_english_childrens_cases(world: World):
    caf = simulate_cafcass(world)
    fam = family_courts(world)
    types = fam.cases.case_type[caf.family_case]
    assert set(types.tolist()) <= set(CAFCASS["law_types"])
    assert np.all(np.isin(world.hoods.country[fam.court_sector[caf.family_case]], CAFCASS["countries"]))
    # every public or private law case in England with its application received in the coverage is there
    english = np.isin(world.hoods.country[fam.court_sector], CAFCASS["countries"])
    eligible = np.isin(fam.cases.case_type, list(CAFCASS["law_types"])) & english
    assert len(caf.family_case) == eligible.sum()  # the coverage (2007-2023) holds every family case


def test_the_tables_do_not_depend_on_the_family_tables_being_built_first(built):
    after_family = make_world()
    family.build(after_family)
    first, alone = cafcass.build(after_family), built
    for name, table in alone.items():
        for col, values in table.columns.items():
            a, b = (v if isinstance(v, pa.Array) else pa.array(v) for v in (values, first[name].columns[col]))
            assert a.equals(b), f"{name}.{col}"


def test_the_case_key_is_the_family_tables(built):
    fam = family.build(make_world())
    keys = set(fam["cases"].columns["case_number_hash"].to_pylist())
    assert set(built["cases"].columns["case_number_hash"].to_pylist()) <= keys


def test_the_ethnicity_not_recorded_share_falls_over_time(built):
    table = built["people"]
    cases = built["cases"].columns
    received = dict(
        zip(cases["cafcass_case_id_hash"].to_pylist(), cases["application_received_date"].to_pylist(), strict=True)
    )
    years = np.array([received[h].year for h in table.columns["cafcass_case_id_hash"].to_pylist()])
    missing = np.array([e == CAFCASS["not_recorded_label"] for e in table.columns["ethnicity"].to_pylist()])
    early, late = missing[years <= 2013].mean(), missing[years >= 2017].mean()
    assert early > late + 0.05
    labels = {v[0] for v in code_lists()["ethnicity"]["codes"].values()} | {CAFCASS["not_recorded_label"]}
    assert set(table.columns["ethnicity"].to_pylist()) <= labels


def test_no_census_when_the_run_leaves_out_census_day():
    early = World(seed=5, chunk=0, first_id=0, n_people=5000, window=Window.of_years(2011, 2014))
    out = cafcass.build(early)
    assert len(out["cases"].person) > 0
    assert len(out["census_2021"].person) == 0
