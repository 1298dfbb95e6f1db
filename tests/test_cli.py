"""The command line: every mistake is one line on stderr and exit status 2, and nothing half-made is left."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import sdfirst.synth.run as run
from sdfirst.cli import main

PREFIX = "sdfirst: error:"


def _one_error_line(capsys) -> str:
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert lines[0].startswith(PREFIX), lines[0]
    assert "Traceback" not in err
    assert out == ""
    return lines[0]


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name)


BAD_ARGS = {
    "negative people": ["--people", "-5"],
    "zero people": ["--people", "0"],
    "absurd people": ["--people", "1e12"],
    "people not a number": ["--people", "lots"],
    "unknown dataset": ["--datasets", "magistrates,nonsense"],
    "years in the future": ["--years", "2030"],
    "years backwards": ["--years", "2020-2011"],
    "years not a year": ["--years", "abc"],
    "negative seed": ["--seed", "-1"],
    "zero workers": ["--workers", "0"],
}


@pytest.mark.parametrize("args", list(BAD_ARGS.values()), ids=list(BAD_ARGS))
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args):
    out = tmp_path / "out"
    assert main(["synth", "--out", str(out), "--quiet", *args]) == 2
    _one_error_line(capsys)
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_missing_out(capsys):
    assert main(["synth", "--people", "100"]) == 2
    assert "--out" in _one_error_line(capsys)


def test_no_command(capsys):
    assert main([]) == 2
    _one_error_line(capsys)


def test_existing_folder_is_not_replaced_without_overwrite(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious", encoding="utf-8")
    assert main(["synth", "--out", str(out), "--people", "100", "--quiet"]) == 2
    assert "--overwrite" in _one_error_line(capsys)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text(encoding="utf-8") == "precious"
    assert _leftovers(tmp_path) == []


def test_out_is_a_file(tmp_path, capsys):
    out = tmp_path / "out"
    out.write_text("a file", encoding="utf-8")
    assert main(["synth", "--out", str(out), "--people", "100", "--quiet"]) == 2
    _one_error_line(capsys)
    assert out.read_text(encoding="utf-8") == "a file"


def test_out_whose_parent_is_a_file(tmp_path, capsys):
    parent = tmp_path / "a-file"
    parent.write_text("not a folder", encoding="utf-8")
    assert main(["synth", "--out", str(parent / "out"), "--people", "100", "--quiet"]) == 2
    _one_error_line(capsys)
    assert parent.read_text(encoding="utf-8") == "not a folder"


def test_report_on_a_folder_that_was_not_generated(tmp_path, capsys):
    (tmp_path / "something.txt").write_text("x", encoding="utf-8")
    assert main(["synth", "--report", str(tmp_path)]) == 2
    _one_error_line(capsys)


def test_report_on_a_missing_folder(tmp_path, capsys):
    assert main(["synth", "--report", str(tmp_path / "nowhere")]) == 2
    _one_error_line(capsys)


def test_generates_and_overwrite_replaces(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["synth", "--out", str(out), "--people", "300", "--seed", "7"]) == 0
    stdout, err = capsys.readouterr()
    assert stdout.startswith("wrote ") and "synthetic records" in stdout
    assert "Traceback" not in err
    assert (out / "manifest.json").is_file()
    (out / "stale.txt").write_text("old", encoding="utf-8")
    assert main(["synth", "--out", str(out), "--people", "300", "--seed", "7", "--quiet", "--overwrite"]) == 0
    assert capsys.readouterr() == ("", "")
    assert not (out / "stale.txt").exists()
    assert (out / "manifest.json").is_file()
    assert _leftovers(tmp_path) == []


def _interrupt_second_chunk(monkeypatch) -> list[Path]:
    """run_chunk that writes a file on the first chunk and is interrupted on the second."""
    seen: list[Path] = []

    def fake(cfg, tmp, chunk, first, n):
        seen.append(tmp)
        if len(seen) == 2:
            raise KeyboardInterrupt
        (tmp / "part-of-chunk-0.txt").write_text("written", encoding="utf-8")
        return {}

    monkeypatch.setattr(run, "run_chunk", fake)
    return seen


def test_interrupted_run_leaves_nothing(tmp_path, capsys, monkeypatch):
    seen = _interrupt_second_chunk(monkeypatch)
    out = tmp_path / "out"
    # 150,000 people make two chunks of the default size; the fake run_chunk makes no data
    assert main(["synth", "--out", str(out), "--people", "150000", "--quiet"]) == 130
    assert len(seen) == 2
    assert not out.exists()
    assert not seen[0].exists()
    assert _leftovers(tmp_path) == []
    _, err = capsys.readouterr()
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def _old_run(out: Path) -> None:
    """A folder that looks like an earlier run's output (the only kind --overwrite may replace)."""
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"generator": "sdfirst"}), encoding="utf-8")
    (out / "keep.txt").write_text("precious", encoding="utf-8")


def test_interrupted_overwrite_keeps_the_old_folder(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    _old_run(out)
    _interrupt_second_chunk(monkeypatch)
    assert main(["synth", "--out", str(out), "--people", "150000", "--quiet", "--overwrite"]) == 130
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt", "manifest.json"]
    assert (out / "keep.txt").read_text(encoding="utf-8") == "precious"
    assert _leftovers(tmp_path) == []
    capsys.readouterr()


def test_console_script(tmp_path):
    script = Path(sys.executable).with_name("sdfirst")
    assert script.is_file(), f"the sdfirst console script is not installed next to {sys.executable}"
    out = tmp_path / "out"
    done = subprocess.run(
        [str(script), "synth", "--out", str(out), "--years", "2020-2011"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX), done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not out.exists()


def test_overwrite_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.docx").write_text("months of work", encoding="utf-8")
    assert main(["synth", "--out", str(out), "--people", "100", "--quiet", "--overwrite"]) == 2
    assert "refusing to overwrite" in _one_error_line(capsys)
    assert (out / "chapter1.docx").read_text(encoding="utf-8") == "months of work"


def test_out_under_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["synth", "--out", str(blocker / "sub" / "out"), "--people", "100", "--quiet"]) == 2
    _one_error_line(capsys)
