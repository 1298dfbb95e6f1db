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
    """The wheel as `sdfirst new-project` makes it from this checkout: `pip wheel --no-deps --no-build-isolation`."""
    from sdfirst.newproject import write_wheel

    return write_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.mark.slow
def test_wheel_metadata_names_this_project(wheel: Path):
    """The distribution is `synthetic-data-first` (the index's `datafirst` is someone else's), the command `sdfirst`."""
    from sdfirst import __version__

    assert wheel.name == f"synthetic_data_first-{__version__}-py3-none-any.whl"
    from sdfirst.newproject import wheel_metadata

    assert wheel_metadata(wheel) == {"Name": "synthetic-data-first", "Version": __version__}
    with zipfile.ZipFile(wheel) as archive:
        scripts = archive.read(f"synthetic_data_first-{__version__}.dist-info/entry_points.txt").decode("utf-8")
    assert "sdfirst = sdfirst.cli:main" in scripts


@pytest.mark.slow
def test_wheel_rebuilt_from_an_installed_package_is_the_same(wheel: Path, tmp_path: Path):
    """From an installed wheel (no source tree), new-project packs the installed files again: the same wheel."""
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    out = tmp_path / "again"
    code = "import sys; from sdfirst.newproject import write_wheel; print(write_wheel(sys.argv[1]))"
    env = {**os.environ, "PYTHONPATH": str(site)}
    made = subprocess.run([sys.executable, "-c", code, str(out)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr[-2000:]
    again = Path(made.stdout.strip())
    assert again.name == wheel.name
    with zipfile.ZipFile(wheel) as first, zipfile.ZipFile(again) as second:
        names = sorted(n for n in first.namelist() if not n.endswith("/RECORD"))
        assert sorted(n for n in second.namelist() if not n.endswith("/RECORD")) == names
        assert all(first.read(n) == second.read(n) for n in names)


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
