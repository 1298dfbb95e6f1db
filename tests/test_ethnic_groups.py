"""Ethnic groups that differ before sentence as in the published statistics: minority groups younger, recorded
offending more frequent for some groups, a different offence mix and more remands in custody, each set in the specs
(population.yaml `people.birth_years_by_group`, justice.yaml `ethnic_groups`) and reaching the data. The direct
effect on custody (effects.yaml) is separate and untouched.
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pytest

from conftest import scalar
from sdfirst.exceptions import DataFirstError
from sdfirst.specs import load_yaml
from sdfirst.synth import generate
from sdfirst.synth.courts import remand_probability
from sdfirst.synth.population import birth_year_weights, broad_groups

MINORITIES = ("Mixed", "Asian", "Black", "Other")


def _group_rate(con, sql_value: str, group: str) -> float:
    """A per-group mean over the magistrates' case summaries of the true people of one broad group."""
    return scalar(
        con,
        f"""
        SELECT avg({sql_value}) FROM magistrates.case_summary c
        JOIN truth.record_person r ON r.dataset = 'magistrates' AND r.table_name = 'case_summary'
             AND r.row_id_hash = c.row_id_hash
        JOIN truth.people t USING (person_id)
        WHERE t.ethnic_group = ?
        """,
        [group],
    )


def test_remand_odds_multiply_the_odds_of_the_severity_rate():
    courts = load_yaml("justice.yaml")["courts"]
    odds_ratio = load_yaml("justice.yaml")["ethnic_groups"]["remand_odds"]
    names, group_of_code = broad_groups()
    severity = np.arange(1, 6)
    base = np.array(courts["remand_in_custody"])
    for name in names:
        code = int(np.flatnonzero(group_of_code == names.index(name))[0])
        p = remand_probability(courts, severity, np.full(5, code, dtype=np.int8))
        ratio = (p / (1 - p)) / (base / (1 - base))
        assert ratio == pytest.approx(odds_ratio.get(name, 1.0))
    assert odds_ratio["Black"] > odds_ratio["White"] == 1.0


def test_birth_year_weights_scale_each_band_for_each_group():
    bands = load_yaml("population.yaml")["people"]["birth_years"]
    factors = load_yaml("population.yaml")["people"]["birth_years_by_group"]
    weights = birth_year_weights(["White", "Black"])
    base = np.concatenate([np.full(b - a + 1, w) for a, b, w in bands])
    assert np.array_equal(weights[0], base)  # a group not named keeps the population's age structure
    first_of_band = np.cumsum([0] + [b - a + 1 for a, b, _ in bands])[:-1]
    assert np.allclose(weights[1][first_of_band] / base[first_of_band], factors["Black"])


def test_a_factor_list_of_the_wrong_length_is_one_line(tmp_path):
    change = {"population.yaml": {"people": {"birth_years_by_group": {"Black": [1.0, 2.0]}}}}
    expected = re.escape("birth_years_by_group.Black has 2 factors, one for each of the 4")
    with pytest.raises(DataFirstError, match=expected):
        generate(tmp_path / "out", people=100, config=change)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"remand_odds": {"Blak": 1.2}}, "unknown key 'Blak'"),
        ({"recorded_rate_ratio": {"Black": 0.5}}, "expected a number of at least 1, got 0.5"),
    ],
)
def test_a_misspelt_group_or_a_ratio_below_one_is_refused(tmp_path, change, expected):
    with pytest.raises(DataFirstError, match=expected):
        generate(tmp_path / "out", people=100, config={"justice.yaml": {"ethnic_groups": change}})


def test_minority_groups_are_younger(con):
    """The 2011 Census: median age 41 for the White group, 18 for Mixed, 29 to 33 for the others; the synthetic
    medians in 2011 follow (the White one lower, as the population has nobody born before 1930)."""
    median_age = {
        group: scalar(
            con,
            "SELECT median(2011 - year(date_of_birth)) FROM truth.people WHERE ethnic_group = ?",
            [group],
        )
        for group in ("White", *MINORITIES)
    }
    assert 37 <= median_age["White"] <= 45, median_age
    for group in MINORITIES:
        assert median_age[group] <= median_age["White"] - 4, median_age
    assert median_age["Mixed"] == min(median_age.values()), median_age


def test_recorded_offending_differs_as_the_rate_ratios_say(con):
    """Magistrates' cases per person for recordable offences (summary motoring is a process of its own, not scaled):
    Black people (ratio 3.3, and younger) have about two and a half times White people's at the default size."""
    per_person = {}
    for group in ("White", "Black"):
        cases = scalar(
            con,
            """
            SELECT count(*) FROM magistrates.case_summary c
            JOIN truth.record_person r ON r.dataset = 'magistrates' AND r.table_name = 'case_summary'
                 AND r.row_id_hash = c.row_id_hash
            JOIN truth.people t USING (person_id)
            WHERE t.ethnic_group = ? AND c.offence_group <> 'Summary motoring'
            """,
            [group],
        )
        people = scalar(con, "SELECT count(*) FROM truth.people WHERE ethnic_group = ?", [group])
        per_person[group] = cases / people
    assert per_person["Black"] > 1.8 * per_person["White"], per_person


def test_the_offence_mix_differs_by_group(con):
    """Drug offences (factor 3 for Black people's offences) are a larger share of Black defendants' cases."""
    drugs = "(c.offence_group = 'Drug offences')::INT"
    assert _group_rate(con, drugs, "Black") > 1.8 * _group_rate(con, drugs, "White")


def test_remand_odds_reach_the_data(tmp_path):
    """With a huge remand odds ratio for one group, nearly all its defendants are remanded and no one else's
    remand changes."""
    change = {"justice.yaml": {"ethnic_groups": {"remand_odds": {"Black": 1000.0}}}}
    folder = tmp_path / "remand"
    generate(folder, people=4_000, seed=5, config=change, datasets="magistrates")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA magistrates; CREATE SCHEMA truth")
    for table in ("magistrates.case_summary", "truth.record_person", "truth.people"):
        path = folder / table.replace(".", "/")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}/*.parquet')")
    remanded = "(c.remanded_in_custody AND c.offence_group <> 'Summary motoring')::INT"
    not_motoring = "(c.offence_group <> 'Summary motoring')::INT"
    black = _group_rate(con, remanded, "Black") / _group_rate(con, not_motoring, "Black")
    white = _group_rate(con, remanded, "White") / _group_rate(con, not_motoring, "White")
    assert black > 0.7 > 0.2 > white
