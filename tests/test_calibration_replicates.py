"""Standard errors of the calibration figures by the random groups method (sdfirst.calibration.replicates)."""

from __future__ import annotations

import math

import pytest

from sdfirst.calibration import evaluate
from sdfirst.calibration.replicates import estimates, group_connection, standard_error
from sdfirst.exceptions import DataFirstError
from sdfirst.specs import table

GROUPS = 3


def test_standard_error_is_the_spread_of_the_groups_over_root_groups() -> None:
    assert standard_error([1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(math.sqrt(2.5) / math.sqrt(5))
    assert standard_error([2.0, 2.0]) == 0.0
    assert math.isnan(standard_error([1.0, math.nan, 3.0]))  # a group without the figure: no standard error
    assert math.isnan(standard_error([1.0]))


def test_groups_split_every_table_by_person(generated, con) -> None:
    """Each person's records are in their group only; records of no person (cases, organisations) in every group."""
    folder, manifest = generated
    groups = [group_connection(folder, GROUPS, g) for g in range(GROUPS)]
    for key, info in manifest["tables"].items():
        columns = info["columns"]
        if table(key).truth_key is not None:  # the share: every row is someone's, through its person id
            nobody = 0
        elif "row_id_hash" in columns and key != "truth.record_person":
            nobody = con.execute(
                f"SELECT count(*) FROM {key} t JOIN truth.record_person r USING (row_id_hash) WHERE r.person_id IS NULL"
            ).fetchone()[0]
        else:
            nobody = 0 if "person_id" in columns else info["rows"]  # truth.case_journey: whole in every group
        if key == "truth.record_person":
            nobody = con.execute("SELECT count(*) FROM truth.record_person WHERE person_id IS NULL").fetchone()[0]
        counts = [group.execute(f"SELECT count(*) FROM {key}").fetchone()[0] for group in groups]
        assert sum(counts) == info["rows"] + (GROUPS - 1) * nobody, key
        if info["rows"] - nobody > 1000:
            assert min(counts) > nobody, key


def test_a_group_holds_only_its_people(generated) -> None:
    folder, _ = generated
    con = group_connection(folder, GROUPS, 1)
    people = con.execute(
        "SELECT DISTINCT r.person_id % 3 FROM magistrates.case_summary m JOIN truth.record_person r USING (row_id_hash)"
    ).fetchall()
    assert people == [(1,)]
    pupils = con.execute(
        """SELECT DISTINCT k.person_id % 3 FROM moj_dfe.school_census c JOIN truth.key_person k
           ON k.key_name = 'pupilmatchingrefanonymous' AND k.key_value = c.pupilmatchingrefanonymous_spr"""
    ).fetchall()
    assert pupils == [(1,)]


def test_group_outside_the_groups_is_refused(generated) -> None:
    folder, _ = generated
    with pytest.raises(DataFirstError, match="not between 0 and 2"):
        group_connection(folder, GROUPS, 3)
    with pytest.raises(DataFirstError, match="at least 2 groups"):
        estimates(folder, groups=1)


def test_estimates_give_the_whole_folder_figures_with_their_errors(generated) -> None:
    folder, _ = generated
    whole = evaluate(folder)
    found = estimates(folder, groups=GROUPS)
    assert [e.result for e in found] == whole  # the figures themselves are those of the whole folder
    errors = [e.standard_error for e in found if not math.isnan(e.standard_error)]
    assert len(errors) >= len(found) // 2 and all(error > 0 for error in errors[:3])
