"""Scaffold a research project from the bundled cookiecutter template (`sdfirst new-project`), offline.

The template lives in `template/` at the top of the repository and is shipped inside the package as
`sdfirst/_template` (a link to it in the source tree, a copy in a wheel), so baking never needs the internet.
The answers are checked here, once, and by the template's pre-generation hook through the same function, so that
`cookiecutter template/` and `sdfirst new-project` refuse the same mistakes with the same words.
"""

from __future__ import annotations

import keyword
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sdfirst.exceptions import DataFirstError

ENVIRONMENTS = ("ONS SRS", "SAIL Databank")
LICENCES = ("MIT", "Apache-2.0", "OGL-UK-3.0", "CC-BY-4.0")
SRS_ONLY = ("moj_dfe",)  # the MoJ-DfE share is made available in the ONS Secure Research Service only
_SLUG = re.compile(r"[a-z][a-z0-9_]*\Z")


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
    return chosen


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
