"""Overrides of the specs (`generate(config=...)`, `synth --config FILE`) and the provenance the manifest records.

An override changes the data it should and the manifest says so; it reaches worker processes; it is checked like
the specs (one line naming the override file and the key); and it never outlives its run.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml

import golden
from sdfirst import spec_schema, specs
from sdfirst.calibration import report
from sdfirst.cli import main
from sdfirst.exceptions import DataFirstError
from sdfirst.synth import generate
from sdfirst.synth.offending import offence_table
from sdfirst.synth.pools import company_names

TYPO = 0.5  # forename typos, against 0.02 by default
TYPOS = {"recording_errors.yaml": {"default": {"columns": {"forename": {"typo": TYPO}}}}}
SMALL = {"people": 2_000, "seed": 3, "chunk_people": 1_000}


def _forenames_not_true(folder: Path) -> float:
    """The share of Magistrates' case summaries whose forename is not the true person's (a typo is one reason)."""
    con = duckdb.connect()
    return con.execute(
        f"""
        SELECT avg(CASE WHEN c.forename IS DISTINCT FROM p.forename THEN 1 ELSE 0 END)
        FROM read_parquet('{folder}/identified/magistrates/case_summary/*.parquet') c
        JOIN read_parquet('{folder}/truth/record_person/*.parquet') r
          ON r.dataset = 'magistrates' AND r.table_name = 'case_summary' AND r.row_id_hash = c.row_id_hash
        JOIN read_parquet('{folder}/truth/people/*.parquet') p USING (person_id)
        """
    ).fetchone()[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """The small golden folder with more forename typos at one and at two (spawned) workers, then without an
    override (the last in the same process, after the others: an override left behind would show in its data)."""
    root = tmp_path_factory.mktemp("overrides")
    override_file = root / "typos.yaml"
    override_file.write_text(yaml.safe_dump(TYPOS), encoding="utf-8")
    made = {"one": generate(root / "one", workers=1, config=TYPOS, **SMALL)}
    with _spawned_workers():  # workers that inherit nothing from this process: the override must reach them
        made["two"] = generate(root / "two", workers=2, config=override_file, **SMALL)
    made["plain"] = generate(root / "plain", workers=2, **SMALL)
    return {name: (root / name, manifest) for name, manifest in made.items()}


@contextlib.contextmanager
def _spawned_workers() -> Iterator[None]:
    """Worker processes started afresh (as on macOS and Windows, and by default on Linux from Python 3.14)."""
    previous = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method("spawn", force=True)
    try:
        yield
    finally:
        multiprocessing.set_start_method(previous, force=True)


def _hashes(manifest: dict) -> dict[str, str]:
    return golden.manifest_hashes(manifest)


def test_an_override_changes_the_tables_with_names_and_the_count_of_the_error(runs):
    (folder, manifest), (plain_folder, plain) = runs["one"], runs["plain"]
    changed = {key for key, h in _hashes(manifest).items() if h != _hashes(plain)[key]}
    names = {"magistrates.case_summary", "crown_court.case_summary", "probation.flatfile"}
    assert {f"identified.{key}" for key in names} <= changed  # the names are in the identified records
    assert "truth.people" not in changed  # the people are the same; only how they are recorded differs
    assert _forenames_not_true(folder) - _forenames_not_true(plain_folder) > 0.3


def test_the_manifest_records_the_override_and_the_digest_of_each_spec_as_used(runs):
    manifest, plain = runs["one"][1]["specs"], runs["plain"][1]["specs"]
    assert plain["overrides"] is None
    assert manifest["overrides"] == {"source": "config", "digest": specs.digest(TYPOS), "content": TYPOS}
    differ = {name for name, h in manifest["files"].items() if h != plain["files"][name]}
    assert differ == {"recording_errors.yaml"}
    assert set(plain["files"]) == set(specs.spec_files()) and "datasets/magistrates.yaml" in plain["files"]
    assert runs["two"][1]["specs"]["overrides"]["source"].endswith("typos.yaml")
    assert "default.columns.forename.typo=0.5" in report(runs["one"][0]) and "no overrides" in report(runs["plain"][0])


def test_the_same_override_gives_the_same_data_at_one_and_two_workers(runs):
    assert _hashes(runs["one"][1]) == _hashes(runs["two"][1])


def test_no_override_outlives_its_run(runs):
    """The run without an override, after two with one in this process, has the golden pins' data."""
    pinned = {k: v for k, v in golden.load_pins()["tables"].items() if not k.startswith("linking.")}
    assert _hashes(runs["plain"][1]) == pinned
    assert specs.load_yaml("recording_errors.yaml")["default"]["columns"]["forename"]["typo"] != TYPO


def test_caches_of_values_made_from_the_specs_follow_the_overrides():
    code, row = next(iter(specs.code_lists()["offences"]["codes"].items()))
    weight = offence_table().weight[0]
    change = {"code_lists.yaml": {"offences": {"codes": {code: [*row[:5], weight * 10]}}}}
    with specs.overridden(specs.read_overrides(change)):
        assert offence_table().weight[0] == weight * 10
    assert offence_table().weight[0] == weight
    size = specs.load_yaml("family_civil.yaml")["civil"]["company_pool_size"]
    companies = len(company_names(SMALL["seed"]))  # a run-wide pool, kept by seed
    change = {"family_civil.yaml": {"civil": {"company_pool_size": size // 2}}}
    with specs.overridden(specs.read_overrides(change)):
        assert len(company_names(SMALL["seed"])) < companies
    assert len(company_names(SMALL["seed"])) == companies


def test_lists_are_replaced_whole_and_optional_keys_may_be_added():
    change = {
        "justice.yaml": {"courts": {"either_way_to_crown": [0.5]}},
        "recording_errors.yaml": {"datasets": {"prison": {"columns": {"date_of_birth": {"shifted": 0.2}}}}},
    }
    with specs.overridden(specs.read_overrides(change)):
        assert specs.load_yaml("justice.yaml")["courts"]["either_way_to_crown"] == [0.5]
        prison = specs.load_yaml("recording_errors.yaml")["datasets"]["prison"]
        assert prison["columns"]["date_of_birth"] == {"shifted": 0.2}
        assert "surname" in prison["columns"] and "rows" in prison  # the shipped keys beside it are kept
        assert specs.load_yaml("justice.yaml")["courts"]["youth_to_crown_factor"] is not None


REFUSED = {
    "misspelt key": (
        {"recording_errors.yaml": {"default": {"columns": {"forename": {"typpo": 0.05}}}}},
        "recording_errors.yaml: default.columns.forename: unknown key 'typpo' (did you mean 'typo'?)",
    ),
    "a key the shipped file does not have": (
        {"justice.yaml": {"custody": {"prisons": {"men": ["A"], "children": ["B"]}}}},
        "justice.yaml: custody.prisons: unknown key 'children' (known keys: men, women, youth)",
    ),
    "a new code in an open map": (
        {"justice.yaml": {"safety_in_custody": {"rates": {"arson": {"men": 0.1, "women": 0.1}}}}},
        "justice.yaml: safety_in_custody.rates: unknown key 'arson' (known keys: Self-harm, Assault on prisoner, "
        "Assault on staff, Death in custody)",
    ),
    "a rate above one": (
        {"recording_errors.yaml": {"datasets": {"prison": {"columns": {"surname": {"alias": 1.5}}}}}},
        "recording_errors.yaml: datasets.prison.columns.surname.alias: expected a number from 0 to 1, got 1.5",
    ),
    "an unknown dataset": (
        {"recording_errors.yaml": {"datasets": {"prisons": {"rows": {"omitted": 0.1}}}}},
        "recording_errors.yaml: datasets: unknown key 'prisons' (did you mean 'prison'?)",
    ),
    "an unknown column": (
        {"recording_errors.yaml": {"datasets": {"prison": {"columns": {"gender": {"other": 0.1}}}}}},
        "recording_errors.yaml: datasets.prison.columns: unknown key 'gender' (known keys: forename, middle_name, "
        "surname, date_of_birth, sex, postcode, ethnicity)",
    ),
    "an error type the column does not have": (
        {"recording_errors.yaml": {"default": {"columns": {"sex": {"typo": 0.1}}}}},
        "recording_errors.yaml: default.columns.sex: unknown key 'typo' (known keys: missing, other)",
    ),
    "a row-level rate above one": (
        {"recording_errors.yaml": {"datasets": {"civil": {"rows": {"omitted": 2}}}}},
        "recording_errors.yaml: datasets.civil.rows.omitted: expected a number from 0 to 1, got 2",
    ),
    "a negative probability": (
        {"justice.yaml": {"offending": {"co_defendant": {"probability": {"Robbery": -0.1}}}}},
        "justice.yaml: offending.co_defendant.probability.Robbery: expected a number from 0 to 1, got -0.1",
    ),
    "no neighbourhoods": (
        {"population.yaml": {"addresses": {"neighbourhoods": 0}}},
        "population.yaml: addresses.neighbourhoods: expected a whole number of at least 1, got 0",
    ),
    "wrong type": (
        {"population.yaml": {"people": {"share_male": "half"}}},
        "population.yaml: people.share_male: expected a number, got 'half'",
    ),
    "a misspelt code of a code list the courts read by key": (
        {"code_lists.yaml": {"pleas": {"codes": {"guilty_": "Guilty"}}}},
        "code_lists.yaml: pleas.codes: unknown key 'guilty_' (did you mean 'guilty'?)",
    ),
    "a negative spread of a risk score moved out of the prison builder": (
        {"justice.yaml": {"oasys": {"rosh": {"noise_sd": -1}}}},
        "justice.yaml: oasys.rosh.noise_sd: expected a number of at least 0, got -1",
    ),
    "misspelt file": (
        {"recording_error.yaml": {"default": {}}},
        "unknown spec file 'recording_error.yaml' (did you mean 'recording_errors.yaml'?)",
    ),
    "not a mapping": ({"justice.yaml": 3}, "justice.yaml: expected a mapping of keys to change, got 3"),
}


def _cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


@pytest.mark.parametrize("change, expected", list(REFUSED.values()), ids=list(REFUSED))
def test_a_bad_override_file_gets_one_line_naming_the_file_and_key_and_exit_2(tmp_path, change, expected):
    override_file = tmp_path / "mine.yaml"
    override_file.write_text(yaml.safe_dump(change), encoding="utf-8")
    code, err = _cli(["synth", "--people", "100", "--out", str(tmp_path / "out"), "--config", str(override_file)])
    assert code == 2 and err == f"sdfirst: error: {override_file}: {expected}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.yaml"]


def test_a_bad_override_mapping_is_refused_by_generate_and_left_behind(tmp_path):
    change, expected = REFUSED["a rate above one"]
    with pytest.raises(DataFirstError, match=f"^config: {re.escape(expected)}$"):
        generate(tmp_path / "out", people=100, config=change)
    assert not (tmp_path / "out").exists()
    assert specs.load_yaml("recording_errors.yaml")["datasets"]["prison"]["columns"]["surname"]["alias"] != 1.5


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[1, 2]", "expected spec file names with the keys to change"),
        ("a: [", "is not valid YAML at line 2"),
        (None, "cannot read override file"),
    ],
)
def test_an_override_file_that_is_not_a_mapping_or_not_yaml_is_one_line(tmp_path, text, expected):
    override_file = tmp_path / "mine.yaml"
    if text is not None:
        override_file.write_text(text, encoding="utf-8")
    code, err = _cli(["synth", "--people", "100", "--out", str(tmp_path / "out"), "--config", str(override_file)])
    assert code == 2 and len(err.splitlines()) == 1 and expected in err and str(override_file) in err


def test_the_range_notation_of_the_shape_language():
    for value, shape, message in [
        (1.5, "number 0..1", "a: expected a number from 0 to 1, got 1.5"),
        (0, "int 1..", "a: expected a whole number of at least 1, got 0"),
        (7, "number ..5", "a: expected a number of at most 5, got 7"),
        ("x", "number 0..1", "a: expected a number, got 'x'"),
    ]:
        with pytest.raises(spec_schema.ShapeError) as caught:
            spec_schema._check(value, shape, "a")
        assert str(caught.value) == message
    for value, shape in [(0, "number 0..1"), (1, "number 0..1"), (0.5, "number 0..1"), (10**9, "int 1..")]:
        spec_schema._check(value, shape, "a")  # on the bounds and within: no error


def test_every_recording_error_rate_is_a_rate():
    """The schema bounds every rate of the error tree, so that a rate of 5 (meant as 5%) is refused."""
    shape = spec_schema.shape_of("recording_errors.yaml")

    def leaves(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key != "$each_once":
                    yield from leaves(value)
        else:
            yield node

    assert set(leaves(shape["default"])) == set(leaves(shape["datasets?"])) == {"number 0..1"}
    assert json.dumps(shape["released_id_errors"]) == json.dumps({"split": "number 0..1", "merge": "number 0..1"})


def _counts(folder: Path, table: str, column: str) -> dict[str, int]:
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT {column}, count(*) FROM read_parquet('{folder}/{table}/*.parquet') GROUP BY 1"
    ).fetchall()
    return {value: n for value, n in rows}


def test_an_override_of_a_sentencing_share_and_of_a_code_label_reaches_the_courts(tmp_path, runs):
    """Rates and code lists moved out of the Python are read at use time: every discharge made absolute, and the
    guilty plea relabelled, change the magistrates' data of the same seed and nothing before sentence."""
    change = {
        "justice.yaml": {"sentencing": {"absolute_discharge_share": 1.0}},
        "code_lists.yaml": {"pleas": {"codes": {"guilty": "Pleaded guilty"}}},
    }
    folder = tmp_path / "changed"
    generate(folder, workers=1, config=change, datasets="magistrates", **SMALL)
    plain = runs["plain"][0]
    table = "magistrates/case_summary"
    before, after = _counts(plain, table, "disposal_type"), _counts(folder, table, "disposal_type")
    assert before["Conditional discharge"] > 0 and "Conditional discharge" not in after
    discharges = before["Conditional discharge"] + before.get("Absolute discharge", 0)
    assert after["Absolute discharge"] == discharges  # the same convictions, only the kind of discharge differs
    pleas_before, pleas_after = _counts(plain, table, "plea"), _counts(folder, table, "plea")
    assert "Guilty" not in pleas_after and pleas_after["Pleaded guilty"] == pleas_before["Guilty"]
    assert specs.load_yaml("code_lists.yaml")["pleas"]["codes"]["guilty"] == "Guilty"  # forgotten after the run
