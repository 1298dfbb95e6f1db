"""The wheel works with no clone: it carries the specs and the research template, and finds them inside itself.

A fellow in a secure environment brings the package in as a wheel, with no copy of this repository; the specs
(`synthetic/`) and the template (`template/`) reach the wheel through the links `sdfirst/_synthetic` and
`sdfirst/_template`. This builds the wheel, unpacks it beside nothing else and uses it from another folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

USE_THE_WHEEL = """
import sys
import sdfirst
from sdfirst.cli import main
from sdfirst.specs import spec_dir
assert str(spec_dir()).startswith(sys.argv[1]), spec_dir()
assert main(["synth", "--people", "1000", "--seed", "3", "--datasets", "probation", "--out", "data", "--quiet"]) == 0
assert main(["check-schema", "data", "--datasets", "probation"]) == 0
assert main(["new-project", "--no-input", "--title", "Wheel check", "--datasets", "probation"]) == 0
print(sdfirst.__file__)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("synthetic_data_first-*.whl")
    return built


@pytest.mark.slow
def test_wheel_carries_the_specs_and_the_template(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    specs = {Path(n).relative_to("sdfirst/_synthetic").as_posix() for n in names if "/_synthetic/" in n}
    expected = {p.relative_to(ROOT / "synthetic").as_posix() for p in (ROOT / "synthetic").rglob("*.yaml")}
    assert specs == expected
    assert "sdfirst/spec_schema.yaml" in names  # the shapes every spec file is checked against
    template = {Path(n).relative_to("sdfirst/_template").as_posix() for n in names if "/_template/" in n}
    shipped = {
        p.relative_to(ROOT / "template").as_posix()
        for p in (ROOT / "template").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert template == shipped  # dotfiles (.gitignore, .pre-commit-config.yaml) included


@pytest.mark.slow
def test_installed_wheel_generates_checks_and_bakes_without_the_repository(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("SDFIRST_SPECS", None)
    result = subprocess.run(
        [sys.executable, "-c", USE_THE_WHEEL, str(site)], cwd=work, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1].startswith(str(site))  # the wheel's copy, not the source tree's
    assert (work / "wheel_check" / "README.md").is_file()
