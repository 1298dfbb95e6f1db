"""Random damage to a generated folder, fed to every command that reads one: never a traceback, never a change.

Each example copies one small folder, damages it in one way (a Parquet file truncated, emptied, deleted or with
bytes inside it flipped, the manifest garbled or deleted, a dataset folder deleted) and runs `synth --report`,
`link` and `check-schema` on it. A command that reads the damaged part must fail: in one line (check-schema: its
list of differences) and a non-zero exit. A command that does not read it may succeed (`link` ignores moj_dfe and
links without the truth; `check-schema` reads neither the manifest nor the truth, nor any row). Either way the
folder's bytes are unchanged, except for the `linking/` a successful `link` adds.
"""

from __future__ import annotations

import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import table_keys
from sdfirst.linkage import load_config
from sdfirst.specs import table
from sdfirst.synth import generate
from test_errors import NOTE, PREFIX, _run, _snapshot


def _first_file(key: str) -> str:
    """A file of the table in a one-chunk run: its part, or its first release file (a year every run has)."""
    files = table(key).files
    if files is None:
        return f"{key.replace('.', '/')}/part-00000.parquet"
    return f"{key.split('.')[0]}/{files.name.format(part=1, year=2010)}"


FILES = [_first_file(key) for key in table_keys()]
DATASETS = sorted({key.split(".")[0] for key in table_keys()})
LINKED = {s["dataset"] for s in load_config()["sources"]}
DIFFERENCE = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+: (missing table|missing file|unreadable table): ")

DAMAGE = st.one_of(
    st.tuples(st.just("truncate"), st.sampled_from(FILES), st.floats(0.0, 0.98)),
    st.tuples(st.just("empty"), st.sampled_from(FILES)),
    st.tuples(st.just("flip"), st.sampled_from(FILES), st.floats(0.05, 0.6)),
    st.tuples(st.just("delete"), st.sampled_from(FILES)),
    st.tuples(st.just("garble manifest"), st.floats(0.0, 0.99), st.binary(max_size=8)),
    st.tuples(st.just("delete manifest")),
    st.tuples(st.just("delete dataset"), st.sampled_from(DATASETS)),
)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damage") / "small"
    generate(folder, people=3_000, seed=11)
    return folder


def _damage(folder, damage) -> str | None:
    """Apply one damage; returns the dataset it hit (None for the manifest)."""
    kind, *args = damage
    if kind in ("truncate", "empty", "delete", "flip"):
        path = folder / args[0]
        data = path.read_bytes()
        if kind == "flip":  # inside the file, past the magic bytes, before the footer: rows damaged
            start = 4 + int((len(data) - 200) * args[1])
            path.write_bytes(data[:start] + bytes(b ^ 0xFF for b in data[start : start + 64]) + data[start + 64 :])
        elif kind == "delete":
            path.unlink()
        else:
            path.write_bytes(data[: int(len(data) * args[1])] if kind == "truncate" else b"")
        return args[0].split("/")[0]
    if kind == "garble manifest":
        path = folder / "manifest.json"
        data = path.read_bytes()
        cut = int((len(data) - 2) * args[0])  # before the closing brace: never valid JSON again
        path.write_bytes(data[:cut] + args[1])
        return None
    if kind == "delete manifest":
        (folder / "manifest.json").unlink()
        return None
    shutil.rmtree(folder / args[0])
    return args[0]


def args_are_text(damage: tuple) -> bool:
    """Whether a damage hit a delimited text file (whose rows a schema check does not read)."""
    return len(damage) > 1 and isinstance(damage[1], str) and damage[1].endswith(".csv")


def _must_fail(command: str, damage: tuple, dataset: str | None) -> bool | None:
    """Whether `command` reads what `damage` broke (None: it may or may not notice)."""
    if damage[0] == "flip":
        return None  # a flipped byte can land in a value the decoder accepts; not every command reads every row
    if command == "check-schema":
        if damage[0] in ("truncate", "delete") and args_are_text(damage):
            return None  # it reads a text file's header only, and a table of yearly files need not have every year
        return dataset is not None and dataset != "truth"
    if command == "link" and dataset is not None:
        whole_truth = damage[0] == "delete dataset" and dataset == "truth"  # linked, not scored
        return dataset in LINKED or (dataset == "truth" and not whole_truth)
    return True  # synth --report reads the manifest and every table


@pytest.mark.slow
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(damage=DAMAGE)
def test_damage_gets_one_line_and_changes_nothing(small, tmp_path_factory, damage):
    folder = tmp_path_factory.mktemp("example") / "d"
    shutil.copytree(small, folder)
    dataset = _damage(folder, damage)
    before = _snapshot(folder)
    for command in ("synth --report", "link", "check-schema"):
        code, _, err = _run([*command.split(), str(folder)])  # an exception here (a traceback) fails the test
        assert "Traceback" not in err
        lines = err.splitlines()
        must_fail = _must_fail(command, damage, dataset)
        if must_fail is False or (must_fail is None and code == 0):
            assert code == 0, f"{command} on {damage}: {err}"
            if command == "link":
                assert (folder / "linking" / "xjs_link.parquet").is_file()
                assert all(line.startswith(NOTE) for line in lines if line.startswith("sdfirst:"))
                shutil.rmtree(folder / "linking")
        elif command == "check-schema" and code == 1:  # its finding: the differences, then a verdict
            assert lines[-1].startswith("schema differs:"), err
            assert lines[:-1] and all(DIFFERENCE.match(line) for line in lines[:-1]), err
            assert all(line.startswith(f"{dataset}.") for line in lines[:-1]), err
        else:
            assert code == 2, f"{command} on {damage}: {err}"
            assert len(lines) == 1 and lines[0].startswith(PREFIX), f"{command} on {damage}: {err}"
        assert _snapshot(folder) == before, f"{command} changed the folder"
