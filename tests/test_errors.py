"""Every bad input gets one line and a non-zero exit, and loses nothing: damaged folders, edited specs, signals.

Each case a new user met (a traceback then) has a test here, and a property test feeds random damage to a
generated folder through every command that reads one.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sdfirst.linkage.pipeline as pipeline
from sdfirst import spec_schema, stopping
from sdfirst.cli import main
from sdfirst.exceptions import DataFirstError
from sdfirst.synth import generate
from sdfirst.synth.output import clear_stale

PREFIX = "sdfirst: error:"
NOTE = "sdfirst: note:"
PEOPLE = 3_000
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A generated folder of every dataset, 3,000 people (about a megabyte): copied, never changed."""
    folder = tmp_path_factory.mktemp("errors") / "small"
    generate(folder, people=PEOPLE, seed=5)
    return folder


@pytest.fixture(scope="module")
def prison_probation(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("errors") / "pp"
    generate(folder, people=PEOPLE, seed=5, datasets="prison,probation")
    return folder


def _copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    return to


def _snapshot(folder: Path, skip: str | None = None) -> dict[str, str]:
    """Every path under `folder` (hidden ones too) with a hash of its bytes; `skip` leaves out one top folder."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if skip and (rel == skip or rel.startswith(skip + "/")):
            continue
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out


def _run(argv: list[str]) -> tuple[int, str, str]:
    """main() in this process, with its stdout and stderr; any exception but a one-line error escapes (a failure)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _one_line(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX), lines
    return lines[0]


def _notes(err: str) -> list[str]:
    """The tool's own lines on stderr (Splink may add its warnings about a small training set)."""
    return [line for line in err.splitlines() if line.startswith("sdfirst:")]


# -- damaged folders ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["synth", "--report"], ["link"]], ids=["report", "link"])
@pytest.mark.parametrize(
    "manifest", ['{"generator": "sdfirst", "tab', "", "[1, 2]", '{"generator": "someone else"}', "\xff\xfe"]
)
def test_a_manifest_that_is_not_ours_or_not_json(small, tmp_path, command, manifest):
    folder = _copy(small, tmp_path / "d")
    (folder / "manifest.json").write_text(manifest, encoding="latin-1")
    before = _snapshot(folder)
    line = _one_line(*_run([*command, str(folder)])[::2])
    assert "manifest.json" in line
    assert _snapshot(folder) == before


@pytest.mark.parametrize("command", [["synth", "--report"], ["link"]], ids=["report", "link"])
@pytest.mark.parametrize("size", [0, 4, 100, "half"])
def test_a_truncated_parquet_file_is_named(small, tmp_path, command, size):
    folder = _copy(small, tmp_path / "d")
    victim = folder / "probation" / "moj_probation_flatfile_01"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2 if size == "half" else size])
    before = _snapshot(folder)
    line = _one_line(*_run([*command, str(folder)])[::2])
    assert str(victim) in line and "Parquet" in line
    assert _snapshot(folder) == before


@pytest.mark.parametrize("command", [["synth", "--report"], ["link"]], ids=["report", "link"])
def test_damage_inside_a_file_is_named_when_its_rows_are_read(small, tmp_path, command):
    """The footer reads, so the checks pass; DuckDB fails on the rows, and a full read then names the file."""
    folder = _copy(small, tmp_path / "d")
    victim = folder / "magistrates" / "case_summary" / "part-00000.parquet"
    data = bytearray(victim.read_bytes())
    for i in range(200, 2000, 7):
        data[i] ^= 0xFF
    victim.write_bytes(bytes(data))
    before = _snapshot(folder)
    line = _one_line(*_run([*command, str(folder)])[::2])
    assert line.startswith(f"{PREFIX} {victim} is damaged (its rows cannot be read): ")
    assert _snapshot(folder) == before


@pytest.mark.parametrize("command", [["synth", "--report"], ["link"]], ids=["report", "link"])
def test_a_missing_file_or_dataset_folder_is_named(small, tmp_path, command):
    folder = _copy(small, tmp_path / "d")
    (folder / "prison" / "rotl" / "part-00000.parquet").unlink()
    assert "prison/rotl/part-00000.parquet is missing" in _one_line(*_run([*command, str(folder)])[::2])
    shutil.rmtree(folder / "prison")
    assert f"{folder / 'prison'} is missing" in _one_line(*_run([*command, str(folder)])[::2])


def test_rows_that_disagree_with_the_manifest(small, tmp_path):
    folder = _copy(small, tmp_path / "d")
    a, b = folder / "crown_court" / "case_summary", folder / "crown_court" / "offence"
    shutil.copy(b / "part-00000.parquet", a / "part-00000.parquet")  # a readable file, of another table
    line = _one_line(*_run(["synth", "--report", str(folder)])[::2])
    assert "crown_court.case_summary has" in line and "in the manifest" in line


def test_report_without_the_truth_is_one_line(small, tmp_path):
    folder = _copy(small, tmp_path / "d")
    shutil.rmtree(folder / "truth")
    assert f"{folder / 'truth'} is missing" in _one_line(*_run(["synth", "--report", str(folder)])[::2])


@pytest.mark.slow
def test_link_without_the_truth_links_and_says_it_cannot_score(small, tmp_path):
    folder = _copy(small, tmp_path / "d")
    shutil.rmtree(folder / "truth")
    before = _snapshot(folder)
    code, out, err = _run(["link", str(folder)])
    assert code == 0 and "Traceback" not in err
    (note,) = _notes(err)
    assert note.startswith(NOTE) and "no truth/" in note and "without scoring" in note
    evaluation = json.loads((folder / "linking" / "evaluation.json").read_text(encoding="utf-8"))
    assert evaluation["records"] > 0 and "xjs" not in evaluation
    assert (folder / "linking" / "xjs_link.parquet").is_file()
    # the case journey needs the courts, not the truth: it is made, only not scored
    journey = pd.read_parquet(folder / "linking" / "mags_crown_journey.parquet")
    assert len(journey) > 0 and "case_journey" not in evaluation
    assert out.splitlines()[-1].startswith("linked ") and "precision" not in out  # the summary: counts only
    assert _snapshot(folder, skip="linking") == before


@pytest.mark.slow
def test_link_without_the_courts_links_what_is_there_and_says_so(prison_probation, tmp_path):
    folder = _copy(prison_probation, tmp_path / "d")
    before = _snapshot(folder)
    code, _, err = _run(["link", str(folder), "--quiet"])
    assert code == 0 and "Traceback" not in err
    (note,) = _notes(err)
    assert note.startswith(NOTE)
    assert "no magistrates, crown_court" in note and "without the case journey" in note
    assert "`sdfirst synth --people 3000 --seed 5 --years 2000-2023 --datasets prison,probation`" in note
    written = sorted(p.name for p in (folder / "linking").iterdir())
    assert written == ["evaluation.json", "person_ids.parquet", "xjs_link.parquet"]
    evaluation = json.loads((folder / "linking" / "evaluation.json").read_text(encoding="utf-8"))
    assert set(evaluation["records_by_source"]) == {"prison_nomis", "prison_oasys", "probation_delius"}
    assert "case_journey" not in evaluation and evaluation["xjs"]["people"] > 0
    # prison and probation are criminal sources: every record has its cjs id, scored like the xjs one
    xjs = pd.read_parquet(folder / "linking" / "xjs_link.parquet")
    assert xjs["estimated_mc_cc_ps_dp"].notna().all() and evaluation["cjs"]["records"] == len(xjs)
    assert _snapshot(folder, skip="linking") == before


def test_link_on_a_folder_with_no_linked_dataset_names_the_command(tmp_path):
    folder = tmp_path / "dfe"
    generate(folder, people=300, seed=5, datasets="moj_dfe")
    line = _one_line(*_run(["link", str(folder)])[::2])
    assert "none of the datasets linkage.yaml links" in line
    assert "--datasets moj_dfe`" in line


def test_link_checks_it_can_write_before_linking(small, tmp_path, monkeypatch):
    """Root can write anywhere, so the failure is simulated at the one place the destination is first written."""
    folder = _copy(small, tmp_path / "d")
    real_mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):
        if ".linking.partial-" in self.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    def never(*_args, **_kwargs):
        raise AssertionError("the linkage ran before the destination was checked")

    monkeypatch.setattr(Path, "mkdir", refuse)
    monkeypatch.setattr(pipeline, "run_linkage", never)
    before = _snapshot(folder)
    line = _one_line(*_run(["link", str(folder)])[::2])
    assert f"cannot write to {folder}: Permission denied" in line
    assert _snapshot(folder) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a read-only folder anyway")
def test_link_on_a_read_only_folder(small, tmp_path):
    folder = _copy(small, tmp_path / "d")
    folder.chmod(0o555)
    try:
        assert "cannot write to" in _one_line(*_run(["link", str(folder)])[::2])
    finally:
        folder.chmod(0o755)


def test_link_overwrite_replaces_a_damaged_earlier_output(small, tmp_path, monkeypatch):
    """A damaged linking/ is not read by `link --overwrite` (which replaces it), only refused without it."""
    folder = _copy(small, tmp_path / "d")
    (folder / "linking").mkdir()
    (folder / "linking" / "xjs_link.parquet").write_bytes(b"not parquet")
    assert "already exists" in _one_line(*_run(["link", str(folder)])[::2])
    monkeypatch.setattr(pipeline, "run_linkage", lambda *_a, **_k: (_ for _ in ()).throw(KeyboardInterrupt))
    code, _, err = _run(["link", str(folder), "--overwrite"])
    assert code == 130 and "interrupted" in err  # got past the damaged file to the linkage
    assert (folder / "linking" / "xjs_link.parquet").read_bytes() == b"not parquet"  # interrupted: kept
    assert not list(folder.glob(".linking.partial-*"))


# -- option values --------------------------------------------------------------------------------------------------

EMPTY_OR_MALFORMED = {
    "synth --datasets empty": ["synth", "--out", "{out}", "--datasets", ""],
    "synth --datasets commas": ["synth", "--out", "{out}", "--datasets", " , "],
    "synth --out empty": ["synth", "--out", ""],
    "synth --report empty": ["synth", "--report", ""],
    "synth --years empty": ["synth", "--out", "{out}", "--years", ""],
    "synth --people empty": ["synth", "--out", "{out}", "--people", ""],
    "synth --seed a word": ["synth", "--out", "{out}", "--seed", "forty-two"],
    "synth --config empty": ["synth", "--out", "{out}", "--config", ""],
    "synth --config with --report": ["synth", "--report", "{out}", "--config", "mine.yaml"],
    "link folder empty": ["link", ""],
    "link --threshold empty": ["link", "{out}", "--threshold", ""],
    "link --threshold nan": ["link", "{out}", "--threshold", "nan"],
    "link --threshold 1": ["link", "{out}", "--threshold", "1"],
    "check-schema --datasets empty": ["check-schema", "{out}", "--datasets", ""],
    "new-project --datasets empty": ["new-project", "--no-input", "--title", "T", "--output-dir", "{out}",
                                     "--datasets", ""],
}  # fmt: skip


@pytest.mark.parametrize("argv", list(EMPTY_OR_MALFORMED.values()), ids=list(EMPTY_OR_MALFORMED))
def test_empty_or_malformed_option_values(tmp_path, argv):
    out = tmp_path / "out"
    _one_line(*_run([a.replace("{out}", str(out)) for a in argv])[::2])
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_synth_datasets_empty_writes_nothing(tmp_path):
    """It used to exit 0 having written only the truth."""
    line = _one_line(*_run(["synth", "--out", str(tmp_path / "out"), "--datasets", "", "--people", "100"])[::2])
    assert "no datasets named" in line
    assert list(tmp_path.iterdir()) == []


# -- edited specs ---------------------------------------------------------------------------------------------------


@pytest.fixture
def edited_specs(tmp_path, monkeypatch):
    """A copy of the specs that SDFIRST_SPECS points at; edit it with `edit(file, old, new)`."""
    from sdfirst import specs

    copy = tmp_path / "specs"
    shutil.copytree(ROOT / "synthetic", copy)
    monkeypatch.setenv("SDFIRST_SPECS", str(copy))

    forget = specs.forget  # the specs and every value made from them, read again from the copy

    def edit(name: str, old: str, new: str) -> Path:
        path = copy / name
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} is not once in {name}"
        path.write_text(text.replace(old, new), encoding="utf-8")
        forget()
        return path

    forget()
    yield edit
    forget()


SPEC_EDITS = {
    "misspelt key": (
        "recording_errors.yaml",
        "    forename: {nickname: 0.04,",
        "    forename: {nicknames: 0.04,",
        "default.columns.forename: unknown key 'nicknames' (did you mean 'nickname'?)",
    ),
    "misspelt key in an override": (
        "recording_errors.yaml",
        "      surname: {alias: 0.03}",
        "      surname: {alais: 0.03}",
        "datasets.prison.columns.surname: unknown key 'alais' (did you mean 'alias'?)",
    ),
    "misspelt error kind": (
        "recording_errors.yaml",
        "  - date_of_birth.shifted ",
        "  - date_of_birth.shift ",
        "order[9]: unknown value 'date_of_birth.shift' (did you mean 'date_of_birth.shifted'?)",
    ),
    "an error kind listed twice": (
        "recording_errors.yaml",
        "  - date_of_birth.shifted ",
        "  - date_of_birth.defaulted ",
        "order[9]: 'date_of_birth.defaulted' is listed twice",
    ),
    "an error kind left out of the order": (
        "recording_errors.yaml",
        "  - sex.other ",
        "",
        "order: missing 'sex.other' (every one must be listed once)",
    ),
    "missing key": (
        "linkage.yaml",
        "  deterministic_recall: 0.8\n",
        "",
        "training: missing key 'deterministic_recall'",
    ),
    "wrong type": (
        "population.yaml",
        "share_male: 0.49",
        "share_male: abc",
        "people.share_male: expected a number, got 'abc'",
    ),
    "wrong type in a list": (
        "justice.yaml",
        "either_way_to_crown: [0.014, 0.054, 0.21, 0.83, 0.95]",
        "either_way_to_crown: [0.014, 0.054, high, 0.83, 0.95]",
        "courts.either_way_to_crown[2]: expected a number, got 'high'",
    ),
    "a whole number": (
        "population.yaml",
        "neighbourhoods: 40000 ",
        "neighbourhoods: 40000.5 ",
        "addresses.neighbourhoods: expected a whole number, got 40000.5",
    ),
    "dataset spec": (
        "datasets/probation.yaml",
        "tables:",
        "tabels:",
        "(top level): unknown key 'tabels' (did you mean 'tables'?)",
    ),
}


@pytest.mark.parametrize("command", [["synth", "--people", "100", "--out", "{out}"], ["link", "{out}"]])
@pytest.mark.parametrize("edit", list(SPEC_EDITS.values()), ids=list(SPEC_EDITS))
def test_edited_specs_get_one_line_naming_the_file_and_key(tmp_path, edited_specs, command, edit):
    name, old, new, expected = edit
    path = edited_specs(name, old, new)
    out = tmp_path / "out"
    line = _one_line(*_run([a.replace("{out}", str(out)) for a in command])[::2])
    assert line == f"{PREFIX} {path}: {expected}"
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "specs"]


def test_a_missing_spec_file_is_one_line_and_a_stray_one_is_ignored(tmp_path, edited_specs):
    folder = Path(os.environ["SDFIRST_SPECS"])
    (folder / "notes.yaml").write_text("my: [unfinished", encoding="utf-8")  # not a spec: not read
    (folder / "effects.yaml").unlink()
    line = _one_line(*_run(["synth", "--people", "100", "--out", str(tmp_path / "out")])[::2])
    assert line.startswith(f"{PREFIX} cannot read spec {folder / 'effects.yaml'}")
    assert not (tmp_path / "out").exists()


def test_every_shipped_spec_file_has_a_shape_and_passes():
    from sdfirst.specs import load_yaml, spec_dir

    folder = spec_dir()
    names = [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*.yaml"))]
    assert len(names) > 10
    for name in names:
        assert spec_schema.shape_of(name) is not None, f"{name} has no shape in spec_schema.yaml"
        spec_schema.check(name, load_yaml(name), name)  # raises if not


def test_the_error_kinds_of_the_schema_are_the_generator_s():
    """The cell-level kinds the schema allows are those recording.py applies, and each is a column and a type of
    the default's tree; the row-level kinds are the two that `record` applies."""
    from sdfirst.synth.recording import ERRORS

    shape = spec_schema.shape_of("recording_errors.yaml")
    tree = {f"{column}.{kind}" for column, kinds in shape["default"]["columns"].items() for kind in kinds}
    assert set(shape["order"]["$each_once"]) == set(ERRORS) == tree
    assert set(shape["default"]["rows"]) == {"omitted", "duplicate"}


def test_the_shape_language():
    """Each construct of spec_schema.yaml refuses what it should, with the key path."""
    shape = {
        "n": "number",
        "pair?": ["int", "string"],
        "codes": {"*": ["string"]},
        "rule": {"$either": [["string"], "string"]},
        "kind": {"$one_of": ["a", "b"]},
        "over": {"$optional": {"x": "number", "y": "number"}},
        "maybe": "string|null",
    }
    good = {"n": 1.5, "pair": [1, "a"], "codes": {"W1": ["x"]}, "rule": "l.a = r.a", "kind": "a", "over": {},
            "maybe": None}  # fmt: skip
    spec_schema._check(good, shape, "")
    bad = {
        "n": (True, "n: expected a number, got True"),
        "pair": ([1], "pair: expected a list of 2 values, got 1"),
        "codes": ({"W1": "x"}, "codes.W1: expected a list, got 'x'"),
        "rule": (3, "rule: expected a list, got 3 / or: rule: expected text, got 3"),
        "kind": ("c", "kind: unknown value 'c' (choose from a, b)"),
        "over": ({"z": 1}, "over: unknown key 'z' (known keys: x, y)"),
        "maybe": (2, "maybe: expected text or nothing (null), got 2"),
    }
    for key, (value, message) in bad.items():
        with pytest.raises(DataFirstError) as caught:
            spec_schema._check({**good, key: value}, shape, "")
        assert str(caught.value) == message
    with pytest.raises(DataFirstError, match=r"^\(top level\): missing key 'n'$"):
        spec_schema._check({k: v for k, v in good.items() if k != "n"}, shape, "")


# -- signals and stale temporary folders ----------------------------------------------------------------------------


def _start_synth(out: Path, workers: int = 1) -> subprocess.Popen:
    """`sdfirst synth` of four chunks, caught in the act: once its temporary folder holds part of a chunk."""
    script = Path(sys.executable).with_name("sdfirst")
    proc = subprocess.Popen(
        [str(script), "synth", "--people", "400000", "--out", str(out), "--quiet", "--workers", str(workers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while not list(out.parent.glob(f".{out.name}.partial-*/*/*/*.parquet")):  # a chunk written: in the work
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no chunk appeared in a temporary folder: {proc.communicate()}")
        time.sleep(0.05)
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_removes_the_temporary_folder(tmp_path, workers):
    """With workers, the chunks not yet started are dropped: the run stops within a chunk's time, not the run's."""
    out = tmp_path / "out"
    proc = _start_synth(out, workers)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.splitlines() == ["sdfirst: terminated; nothing was written"]
    assert stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "word"), [(signal.SIGTERM, "terminated"), (signal.SIGINT, "interrupted")])
def test_a_signal_during_link_leaves_the_folder_as_it_was(small, tmp_path, signum, word):
    """DuckDB turns a signal during a query into its own error; that is one line too, after the clean-up."""
    folder = _copy(small, tmp_path / "d")
    before = _snapshot(folder)
    script = Path(sys.executable).with_name("sdfirst")
    proc = subprocess.Popen(
        [str(script), "link", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # The first progress line comes once the temporary folder is made, just before training (the longest step):
    # the signal is sent on it, not after a fixed sleep, which a fast machine once outran.
    line = proc.stdout.readline()
    while line and "person records from" not in line:
        line = proc.stdout.readline()
    if not line:
        pytest.fail(f"link ended before it trained: {proc.communicate()}")
    assert list(folder.glob(".linking.partial-*")), "the temporary folder is made before the linkage"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, stderr
    assert [line for line in stderr.splitlines() if line.startswith("sdfirst:")] == [
        f"sdfirst: {word}; nothing was written"
    ]
    assert "Traceback" not in stderr
    assert _snapshot(folder) == before


def test_a_signal_a_library_swallowed_still_stops_the_run(small, tmp_path, monkeypatch):
    """DuckDB turns a signal during a query into its own error, which Splink may catch in a best-effort clean-up:
    the run then goes on, but the output must not replace the destination, and the command still says it stopped."""
    folder = _copy(small, tmp_path / "d")
    before = _snapshot(folder)
    write = pipeline.write

    def write_then_swallow_a_signal(*args, **kwargs):
        write(*args, **kwargs)
        with contextlib.suppress(KeyboardInterrupt):
            stopping.on_signal(signal.SIGTERM, None)  # what a library's `except` would do to it

    monkeypatch.setattr(pipeline, "write", write_then_swallow_a_signal)
    code, _, err = _run(["link", str(folder), "--quiet"])
    assert code == 128 + signal.SIGTERM, err
    assert _notes(err) == ["sdfirst: terminated; nothing was written"]
    assert _snapshot(folder) == before
    assert stopping.received == []  # the next command, or a library call, starts afresh


@pytest.mark.slow
def test_a_killed_run_s_temporary_folder_is_cleared_by_the_next(tmp_path):
    out = tmp_path / "out"
    proc = _start_synth(out)
    proc.kill()  # SIGKILL: no clean-up is possible
    proc.wait(timeout=60)
    (stale,) = tmp_path.glob(".out.partial-*")
    code, _, err = _run(["synth", "--people", "300", "--out", str(out), "--quiet"])
    assert code == 0, err
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_only_dead_runs_temporary_folders_are_cleared(tmp_path):
    finished = subprocess.Popen(["true"])  # a process that has finished: its id is free
    finished.wait()
    dead = tmp_path / f".out.partial-{finished.pid}"
    alive = tmp_path / f".out.partial-{os.getppid()}"  # this test's parent process is running
    other = tmp_path / ".other.partial-1"
    for path in (dead, alive, other):
        path.mkdir()
    assert clear_stale(tmp_path / "out") == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name])
