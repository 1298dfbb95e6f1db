"""Tests of the family court and civil court builders on a small World."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sdfirst import specs
from sdfirst.exceptions import DataFirstError
from sdfirst.synth import dates
from sdfirst.synth.tables import Built, civil, family
from sdfirst.synth.world import Window, World

N_PEOPLE = 20000


def make_world(seed: int = 1, first: int = 2000, last: int = 2023) -> World:
    return World(seed=seed, chunk=0, first_id=0, n_people=N_PEOPLE, window=Window.of_years(first, last))


def table_spec(dataset: str, name: str) -> specs.TableSpec:
    """The spec of a table; read the file alone while other datasets' spec files are still missing."""
    try:
        return specs.datasets()[dataset].tables[name]
    except DataFirstError:
        return specs._dataset(specs.load_yaml(f"datasets/{dataset}.yaml")).tables[name]


def as_table(built: Built, spec: specs.TableSpec) -> pa.Table:
    cols = {k: v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v) for k, v in built.columns.items()}
    return pa.table(cols).cast(spec.schema)


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


@pytest.fixture(scope="module")
def built(world: World) -> dict[str, dict[str, Built]]:
    return {"family": family.build(world), "civil": civil.build(world)}


@pytest.fixture(scope="module")
def tables(built) -> dict[str, dict[str, pa.Table]]:
    return {ds: {t: as_table(b, table_spec(ds, t)) for t, b in out.items()} for ds, out in built.items()}


def coverage_days(dataset: str) -> tuple[int, int]:
    cov = specs.load_yaml(f"datasets/{dataset}.yaml")["coverage"]
    return dates.day(str(cov["start"])), dates.day(str(cov["end"]))


def days(column: pa.ChunkedArray) -> np.ndarray:
    """Date column as int days, nulls as NEVER."""
    return column.cast(pa.int32()).fill_null(int(dates.NEVER)).to_numpy()


@pytest.mark.parametrize("dataset", ["family", "civil"])
def test_tables_follow_the_spec(built, dataset):
    for name, b in built[dataset].items():
        spec = table_spec(dataset, name)
        assert list(b.columns) == spec.column_names
        table = as_table(b, spec)
        assert table.num_rows > 0
        for col in spec.columns:
            if not col.nullable:
                assert table[col.name].null_count == 0, col.name
            if col.codes:
                values = set(pc.unique(table[col.name].drop_null()).to_pylist())
                assert values <= set(col.codes), (col.name, values - set(col.codes))
        assert pc.count_distinct(table["row_id_hash"]).as_py() == table.num_rows


@pytest.mark.parametrize("dataset", ["family", "civil"])
def test_dates_inside_coverage_and_events_inside_case_life(tables, dataset):
    start, end = coverage_days(dataset)
    cases, events = tables[dataset]["cases"], tables[dataset]["events"]
    issue = days(cases["issue_date"])
    assert issue.min() >= start and issue.max() <= end
    joined = events.join(cases.select(["case_number_hash", "issue_date"]), "case_number_hash")
    ev, iss = days(joined["event_date"]), days(joined["issue_date"])
    assert len(ev) == events.num_rows
    assert (ev >= iss).all() and (ev <= end).all()
    if dataset == "family":
        closed = days(cases["disposal_date"])
        assert (closed[closed != dates.NEVER] <= end).all()
        with_close = events.join(cases.select(["case_number_hash", "disposal_date"]), "case_number_hash")
        d, ev2 = days(with_close["disposal_date"]), days(with_close["event_date"])
        assert (ev2[d != dates.NEVER] <= d[d != dates.NEVER]).all()


@pytest.mark.parametrize("dataset", ["family", "civil"])
def test_event_sequence_starts_with_issue(tables, dataset):
    events = tables[dataset]["events"].to_pandas()
    first = events[events.event_seq == 1]
    assert first.case_number_hash.nunique() == tables[dataset]["cases"].num_rows
    steps = events.groupby("case_number_hash").event_seq.agg(["min", "max", "size"])
    assert (steps["min"] == 1).all() and (steps["max"] == steps["size"]).all()


def test_family_ages_by_role(world, built, tables):
    parties = tables["family"]["parties"].to_pandas()
    cases = tables["family"]["cases"].to_pandas()[["case_number_hash", "issue_date"]]
    person = built["family"]["parties"].person
    merged = parties.assign(person=person).merge(cases, on="case_number_hash", how="left")
    rows = merged.person.to_numpy() >= 0
    issue = merged.issue_date.to_numpy().astype("datetime64[D]").astype(np.int32)
    age = dates.age_on(world.people.dob[merged.person.to_numpy()[rows]], issue[rows])
    child = (merged.party_role.to_numpy() == "child")[rows]
    assert child.any() and (age[child] >= 0).all() and (age[child] < 18).all()
    assert (age[~child] >= 18).all()
    # nobody holds two roles in one case
    assert not merged[rows].duplicated(["case_number_hash", "person"]).any()


def test_civil_parties_are_adults_or_companies(world, built, tables):
    parties = tables["civil"]["parties"]
    person = built["civil"]["parties"].person
    company = parties["party_type"].to_numpy(zero_copy_only=False) == "Company"
    assert company.any() and (person[company] == -1).all() and (person[~company] >= 0).all()
    for col in ("forename", "surname", "date_of_birth", "sex"):
        assert parties[col].filter(pa.array(company)).null_count == int(company.sum())
    assert parties["organisation_name"].filter(pa.array(company)).null_count == 0
    cases = tables["civil"]["cases"].select(["case_number_hash", "issue_date"])
    joined = parties.append_column("person", pa.array(person)).join(cases, "case_number_hash")
    p = joined["person"].to_numpy()
    issue = days(joined["issue_date"])
    assert (dates.age_on(world.people.dob[p[p >= 0]], issue[p >= 0]) >= 18).all()
    # claimants mostly companies, defendants mostly people
    role = parties["party_role"].to_numpy(zero_copy_only=False)
    assert company[role == "Claimant"].mean() > 0.6
    assert company[role == "Defendant"].mean() < 0.3


def test_related_cases_are_earlier_cases_of_the_chunk(tables):
    cases = tables["family"]["cases"].to_pandas()
    related = cases.dropna(subset=["related_case_number_hash"])
    assert len(related) > 0
    issue = cases.set_index("case_number_hash").issue_date
    assert related.related_case_number_hash.isin(issue.index).all()
    assert (issue.loc[related.related_case_number_hash].to_numpy() <= related.issue_date.to_numpy()).all()


def test_parties_skew_to_high_risk_where_they_should(world, built, tables):
    risk = world.people.risk
    fam = tables["family"]["parties"].to_pandas().assign(person=built["family"]["parties"].person)
    fam = fam.merge(tables["family"]["cases"].to_pandas()[["case_number_hash", "case_type"]])
    fam = fam[fam.person >= 0].assign(risk=lambda d: risk[d.person.to_numpy()])
    mean = fam.groupby(["case_type", "party_role"]).risk.mean()
    assert mean["Family Law Act", "respondent"] > 0.6
    assert mean["Public law", "respondent"] > 0.5
    assert abs(mean["Divorce", "applicant"]) < 0.3
    # a good share of family and civil parties are high-risk people (the ones who also offend)
    assert (fam.risk > 1.0).mean() > 0.2
    civ = built["civil"]["parties"].person
    roles = tables["civil"]["parties"]["party_role"].to_numpy(zero_copy_only=False)
    defendants = civ[(roles == "Defendant") & (civ >= 0)]
    assert risk[defendants].mean() > 0.4
    assert (risk[defendants] > 1.0).mean() > 0.3


def test_volumes_per_100k_people_are_plausible(tables):
    years = 11
    per_100k = {ds: tables[ds]["cases"].num_rows / years / N_PEOPLE * 1e5 for ds in ("family", "civil")}
    assert 300 < per_100k["family"] < 600  # about 450 in England and Wales
    assert 2000 < per_100k["civil"] < 4500  # about 3,000


def test_deterministic_for_the_seed(tables):
    again = {"family": family.build(make_world()), "civil": civil.build(make_world())}
    for ds, out in again.items():
        for name, b in out.items():
            assert as_table(b, table_spec(ds, name)).equals(tables[ds][name]), (ds, name)
    other = family.build(make_world(seed=2))["cases"]
    assert not as_table(other, table_spec("family", "cases")).equals(tables["family"]["cases"])


def test_window_outside_coverage_gives_empty_tables():
    w = make_world(first=2000, last=2005)
    for ds, module in (("family", family), ("civil", civil)):
        for name, b in module.build(w).items():
            assert list(b.columns) == table_spec(ds, name).column_names
            assert len(b.person) == 0


def test_runs_in_a_few_seconds(world):
    start = time.perf_counter()
    family.build(world)
    civil.build(world)
    assert time.perf_counter() - start < 5
