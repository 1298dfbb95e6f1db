"""Scaffold a research project from the bundled cookiecutter template (`sdfirst new-project`), offline.

The template lives in `template/` at the top of the repository and is shipped inside the package as
`sdfirst/_template` (a link to it in the source tree, a copy in a wheel), so baking never needs the internet.
The answers are checked here, once, and by the template's pre-generation hook through the same function, so that
`cookiecutter template/` and `sdfirst new-project` refuse the same mistakes with the same words.

A baked project installs this package from the wheel written into its `wheels/` folder (`write_wheel`, called by the
template's post-generation hook), never by name from a package index: a name on an index can be taken by anyone.
"""

from __future__ import annotations

import base64
import csv
import email.parser
import hashlib
import importlib.metadata
import io
import keyword
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sdfirst.exceptions import DataFirstError

ENVIRONMENTS = ("ONS SRS", "SAIL Databank")
LICENCES = ("MIT", "Apache-2.0", "OGL-UK-3.0", "CC-BY-4.0")
SRS_ONLY = ("moj_dfe",)  # the MoJ-DfE share is made available in the ONS Secure Research Service only
SAIL_ONLY = ("cafcass",)  # the family court - Cafcass - Census 2021 linked dataset is in the SAIL Databank only
_SLUG = re.compile(r"[a-z][a-z0-9_]*\Z")
DISTRIBUTION = "synthetic-data-first"
WHEEL_TAG = "py3-none-any"  # pure Python: one wheel serves every platform
#: What a source build needs from the top of the source tree (src/sdfirst links to synthetic/ and template/).
_SOURCE_PARTS = ("pyproject.toml", "README.md", "src", "synthetic", "template")
#: dist-info files that record one installation, not the package: left out of a wheel rebuilt from an install.
_INSTALL_ONLY = {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"}


def template_dir() -> Path:
    """The bundled template: `sdfirst/_template` in an installed package, else `template/` in the source tree."""
    here = Path(__file__).resolve().parent
    for path in (here / "_template", here.parents[1] / "template"):
        if (path / "cookiecutter.json").is_file():
            return path
    raise DataFirstError(f"cannot find the project template (looked in {here / '_template'})")


def check_slug(slug: str) -> None:
    """A slug names the project's folder and its Python package, so it must be a lower-case Python identifier."""
    if not _SLUG.match(slug) or keyword.iskeyword(slug) or len(slug) > 60:
        raise DataFirstError(
            f"project slug {slug!r} is not valid: use lower-case letters, digits and underscores, "
            "starting with a letter (at most 60 characters), as it names a Python package"
        )


def check_answers(answers: Mapping[str, Any]) -> list[str]:
    """Refuse answers the template cannot bake; return the chosen datasets in spec order.

    Called by the template's pre-generation hook and by `sdfirst new-project` before anything is written.
    """
    for key in ("project_title", "lead_researcher", "organisation"):
        if not str(answers.get(key, "")).strip():
            raise DataFirstError(f"{key.replace('_', ' ')} must not be empty")
    check_slug(str(answers.get("project_slug", "")))
    if answers.get("secure_environment") not in ENVIRONMENTS:
        raise DataFirstError(f"secure environment must be one of {', '.join(ENVIRONMENTS)}")
    if answers.get("licence") not in LICENCES:
        raise DataFirstError(f"licence must be one of {', '.join(LICENCES)}")
    from sdfirst.schema_check import choose_datasets  # here: it loads pyarrow, which the CLI's start need not

    chosen = choose_datasets(str(answers.get("datasets", "")))
    if answers["secure_environment"] != "ONS SRS":
        for name in chosen:
            if name in SRS_ONLY:
                raise DataFirstError(f"dataset {name!r} is available in the ONS SRS only, not in the SAIL Databank")
    if answers["secure_environment"] != "SAIL Databank":
        for name in chosen:
            if name in SAIL_ONLY:
                raise DataFirstError(f"dataset {name!r} is available in the SAIL Databank only, not in the ONS SRS")
    linked = linked_datasets()
    if not set(chosen) & set(linked):
        raise DataFirstError(
            f"the starter analysis counts people with the cross-justice linking table, which does not cover "
            f"{', '.join(chosen)}: add one of {', '.join(linked)}"
        )
    return chosen


def linked_datasets() -> list[str]:
    """The datasets whose person records the cross-justice linkage covers (linkage.yaml), in the specs' order."""
    from sdfirst.linkage.config import source_tables
    from sdfirst.schema_check import choose_datasets

    covered = {key.split(".", 1)[0] for key in source_tables().values()}
    return [name for name in choose_datasets("all") if name in covered]


def wheel_filename() -> str:
    """The file name of this package's wheel (what `write_wheel` writes and the baked requirements.txt names)."""
    from sdfirst import __version__

    return f"{re.sub(r'[-_.]+', '_', DISTRIBUTION)}-{__version__}-{WHEEL_TAG}.whl"


def _context(template: Path, answers: Mapping[str, str], no_input: bool) -> dict[str, Any]:
    """The template's answers after prompting (or defaults), with derived values such as the slug filled in."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    context = generate_context(context_file=template / "cookiecutter.json", extra_context=dict(answers))
    sys.path.insert(0, str(template))  # the template's local Jinja extension, as cookiecutter itself does
    try:
        return dict(prompt_for_config(context, no_input=no_input))
    finally:
        sys.path.remove(str(template))


def new_project(output_dir: str | Path = ".", answers: Mapping[str, str] | None = None, no_input: bool = True) -> Path:
    """Bake the template into `output_dir/<slug>` and return that folder. Never overwrites an existing folder."""
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    template = template_dir()
    output_dir = Path(output_dir)
    try:
        resolved = _context(template, answers or {}, no_input)
    except CookiecutterException as exc:
        raise DataFirstError(f"cannot read the template's answers: {exc}") from None
    except ValueError as exc:  # a value outside a choice list, as cookiecutter reports it
        raise DataFirstError(str(exc)) from None
    check_answers(resolved)
    target = output_dir / resolved["project_slug"]
    if target.exists():
        raise DataFirstError(f"{target} already exists; choose another slug or folder (nothing was changed)")
    public = {k: v for k, v in resolved.items() if not k.startswith("_")}
    with tempfile.TemporaryDirectory() as scratch:  # no replay file in the home folder; no ~/.cookiecutterrc either
        settings = {"replay_dir": scratch, "cookiecutters_dir": scratch}
        try:
            baked = cookiecutter(
                str(template), no_input=True, extra_context=public, output_dir=str(output_dir), default_config=settings
            )
        except CookiecutterException as exc:
            raise DataFirstError(f"could not bake the template: {exc}") from None
    return Path(baked)


def _package_root() -> Path:
    return Path(__file__).resolve().parent


def _installed_distribution() -> importlib.metadata.Distribution | None:
    """The installed (not editable) distribution whose files are the `sdfirst` being run, if there is one."""
    init = _package_root() / "__init__.py"
    for dist in importlib.metadata.distributions(name=DISTRIBUTION):
        files = dist.files or []
        if any(Path(dist.locate_file(f)).resolve() == init for f in files if f.name == "__init__.py"):
            return dist
    return None


def _source_tree() -> Path | None:
    """The source checkout the running `sdfirst` comes from (an editable install, or src/ on the path), if any."""
    top = _package_root().parents[1]
    pyproject = top / "pyproject.toml"
    if pyproject.is_file() and re.search(rf'^name = "{DISTRIBUTION}"', pyproject.read_text(encoding="utf-8"), re.M):
        return top
    return None


def _record_line(arcname: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return [arcname, f"sha256={digest}", str(len(data))]


def _repack(dist: importlib.metadata.Distribution, folder: Path) -> Path:
    """The wheel an installed distribution came from, rebuilt from the files its RECORD lists.

    Scripts (paths outside site-packages) are left out, as the installer makes them again from entry_points.txt;
    byte code and the files that record this one installation are left out too. RECORD is written anew.
    """
    info = next(f for f in dist.files if f.name == "WHEEL" and f.parent.name.endswith(".dist-info"))
    tag = email.parser.Parser().parsestr(dist.read_text("WHEEL") or "", headersonly=True)["Tag"]
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    target = folder / f"{name}-{dist.version}-{tag}.whl"
    record_name = f"{info.parent.as_posix()}/RECORD"
    rows = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as wheel:
        for file in sorted(dist.files, key=lambda f: f.as_posix()):
            arcname = file.as_posix()
            if arcname.startswith("..") or "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            if file.parent == info.parent and file.name in _INSTALL_ONLY:
                continue
            data = Path(dist.locate_file(file)).read_bytes()
            wheel.writestr(arcname, data)
            rows.append(_record_line(arcname, data))
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows([*rows, [record_name, "", ""]])
        wheel.writestr(record_name, text.getvalue())
    return target


def _build(source: Path, folder: Path) -> Path:
    """The wheel built from a source checkout, offline: pip with the build backend installed here, no index.

    The sources are copied first, so that the build's scratch folders never land in the checkout (and two builds at
    once cannot meet).
    """
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "src-copy"
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
        for part in _SOURCE_PARTS:
            path = source / part
            if path.is_dir():
                shutil.copytree(path, copy / part, symlinks=True, ignore=ignore)
            elif path.is_file():
                copy.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy / part)
        out = Path(scratch) / "out"
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"]
        result = subprocess.run([*command, "-w", str(out), str(copy)], capture_output=True, text=True)
        built = sorted(out.glob("*.whl"))
        if result.returncode != 0 or len(built) != 1:
            last = (result.stderr.strip().splitlines() or ["no wheel was written"])[-1]
            raise DataFirstError(
                f"cannot build the {DISTRIBUTION} wheel from {source} ({last.strip()}); "
                "it needs setuptools>=77 and wheel here: pip install -e '.[dev]'"
            )
        folder.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(built[0], folder / built[0].name))


def write_wheel(folder: str | Path) -> Path:
    """Write the wheel of the running `sdfirst` into `folder` and return its path.

    From an installed wheel, the installed files are packed again; from a source checkout (an editable install, the
    usual case for this repository), the wheel is built offline. Either way the baked project installs exactly this
    package, from a file, with no package index involved.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dist = _installed_distribution()
    if dist is not None:
        return _repack(dist, folder)
    source = _source_tree()
    if source is None:
        raise DataFirstError(f"cannot find the {DISTRIBUTION} distribution or its source tree to make its wheel")
    return _build(source, folder)


def wheel_metadata(wheel: str | Path) -> dict[str, str]:
    """Name and Version from a wheel's METADATA (what pip reads to decide which project a file is)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(name).decode("utf-8")
    fields = email.parser.Parser().parsestr(text, headersonly=True)
    return {"Name": fields["Name"], "Version": fields["Version"]}
