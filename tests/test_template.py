"""The research template (template/): baked across its options, exact files, no template syntax left, bad answers
refused in one line, `sdfirst new-project` offline and never over an existing folder, the commit guard, and the
baked project's own tests on synthetic data."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from sdfirst.cli import main
from sdfirst.newproject import DISTRIBUTION, template_dir, wheel_filename, wheel_metadata
from sdfirst.specs import datasets

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "sdfirst: error:"

COMBINATIONS = {
    "srs-courts-mit": {
        "project_title": "Sentencing at the Crown Court",
        "secure_environment": "ONS SRS",
        "datasets": "magistrates,crown_court",
        "licence": "MIT",
    },
    "sail-family-civil-apache": {
        "project_title": "Families in the civil and family courts",
        "lead_researcher": "Dr Aled Jones",
        "organisation": "Swansea University",
        "secure_environment": "SAIL Databank",
        "datasets": "civil, family",
        "licence": "Apache-2.0",
    },
    "srs-education-ogl": {
        "project_title": "Exclusion from school & later offending (2011-2020)",
        "project_slug": "exclusion_offending",
        "secure_environment": "ONS SRS",
        "datasets": "moj_dfe,probation,prison",
        "licence": "OGL-UK-3.0",
    },
    "srs-everything-ccby": {
        "project_title": 'Returning defendants: the "revolving door" & the courts\' view',
        "project_slug": "returning_defendants",
        "lead_researcher": "Sam",
        "secure_environment": "ONS SRS",
        "datasets": "magistrates,crown_court,prison,probation,family,civil,moj_dfe",
        "licence": "CC-BY-4.0",
    },
}

PROJECT_FILES = {
    ".gitignore",
    ".pre-commit-config.yaml",
    "CITATION.cff",
    "LICENCE",
    "Makefile",
    "README.md",
    "config.yaml",
    "data/README.md",
    "docs/application/data-request.md",
    "docs/application/research-accreditation-panel.md",
    "docs/application/secure-access-form.md",
    "docs/qa/assumptions.md",
    "docs/qa/data-log.md",
    "environment.yml",
    "notebooks/01-first-look.ipynb",
    "outputs/request-log.md",
    "pyproject.toml",
    "requirements.txt",
    "scripts/check_commit.py",
    "src/{slug}/__init__.py",
    "src/{slug}/analysis.py",
    "src/{slug}/config.py",
    "src/{slug}/data.py",
    "src/{slug}/layout.py",
    "src/{slug}/outputs.py",
    "tests/conftest.py",
    "tests/test_analysis.py",
    "tests/test_config.py",
    "tests/test_guard.py",
    "tests/test_outputs.py",
    f"wheels/{wheel_filename()}",
}


def bake(tmp_path: Path, answers: dict[str, str]) -> Path:
    """cookiecutter's own API, as `cookiecutter template/` would bake (its replay file kept out of the home folder)."""
    settings = {"replay_dir": str(tmp_path.parent / "replay"), "cookiecutters_dir": str(tmp_path.parent / "replay")}
    template = str(template_dir())
    return Path(
        cookiecutter(template, no_input=True, extra_context=answers, output_dir=str(tmp_path), default_config=settings)
    )


def files_of(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


@pytest.fixture(params=list(COMBINATIONS), scope="module")
def baked(request, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    answers = COMBINATIONS[request.param]
    return bake(tmp_path_factory.mktemp(request.param), answers), answers


def test_template_is_bundled_with_the_package():
    assert (template_dir() / "cookiecutter.json").is_file()
    assert template_dir().resolve() == (ROOT / "template").resolve()


def test_choices_agree_everywhere():
    """The template's choice lists, its dataset prompt, the CLI and the checks name the same options."""
    from sdfirst import cli, newproject
    from sdfirst.schema_check import choose_datasets

    spec = json.loads((template_dir() / "cookiecutter.json").read_text(encoding="utf-8"))
    assert tuple(spec["secure_environment"]) == newproject.ENVIRONMENTS == tuple(cli._ENVIRONMENTS.values())
    assert tuple(spec["licence"]) == newproject.LICENCES == cli.LICENCES
    assert f"({', '.join(choose_datasets('all'))})" in spec["__prompts__"]["datasets"]
    defaults = {k: v[0] if isinstance(v, list) else v for k, v in spec.items() if not k.startswith("_")}
    assert newproject.check_answers(defaults | {"project_slug": "ok"}) == ["magistrates", "crown_court"]


def test_exact_file_set(baked):
    project, _answers = baked
    assert files_of(project) == {name.format(slug=project.name) for name in PROJECT_FILES}


def test_slug_is_derived_from_the_title_unless_given(baked):
    project, answers = baked
    expected = {
        "Sentencing at the Crown Court": "sentencing_at_the_crown_court",
        "Families in the civil and family courts": "families_in_the_civil_and_family_courts",
    }
    assert project.name == answers.get("project_slug") or project.name == expected[answers["project_title"]]


def test_no_template_syntax_survives(baked):
    project, _answers = baked
    for path in project.rglob("*"):
        rel = path.relative_to(project).as_posix()
        assert "{{" not in rel and "cookiecutter" not in rel
        if path.is_file() and path.suffix != ".whl":
            text = path.read_text(encoding="utf-8")
            for marker in ("{{", "{%", "{#", "cookiecutter."):
                assert marker not in text, f"{rel} still holds {marker!r}"


def test_answers_reach_the_files(baked):
    project, answers = baked
    chosen = [n for n in datasets() if n in {d.strip() for d in answers["datasets"].split(",")}]
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert answers["project_title"] in readme and answers["secure_environment"] in readme
    assert f"datasets: [{', '.join(chosen)}]" in (project / "config.yaml").read_text(encoding="utf-8")
    assert f"license: {answers['licence']}" in (project / "CITATION.cff").read_text(encoding="utf-8")
    licence = (project / "LICENCE").read_text(encoding="utf-8")
    words = {
        "MIT": "MIT License",
        "Apache-2.0": "Apache License",
        "OGL-UK-3.0": "Open Government",
        "CC-BY-4.0": "CC BY",
    }
    assert words[answers["licence"]] in licence
    assert "acro==" in (project / "requirements.txt").read_text(encoding="utf-8")


def test_sdfirst_comes_from_the_baked_wheel_never_from_an_index_by_name(baked):
    """requirements.txt names sdfirst's wheel by its path; no file of the project names the package for an index."""
    project, _answers = baked
    wheel = project / "wheels" / wheel_filename()
    assert wheel_metadata(wheel) == {"Name": DISTRIBUTION, "Version": __import__("sdfirst").__version__}
    lines = [line.split("#")[0].strip() for line in (project / "requirements.txt").read_text("utf-8").splitlines()]
    assert f"./wheels/{wheel.name}" in lines
    names = {"sdfirst", "synthetic-data-first", "synthetic_data_first", "datafirst"}
    for line in filter(None, lines):
        assert re.split(r"[=<>!~\[; ]", line)[0].lower() not in names, line  # only the file path names it
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert not {re.split(r"[=<>!~\[; ]", d)[0].lower() for d in pyproject["project"]["dependencies"]} & names
    ignored = (project / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "wheels/*" in ignored and "!wheels/synthetic_data_first-*.whl" in ignored  # the wheel is committed


def test_requires_python_is_honest(baked):
    """The baked project's requires-python is no lower than what its pinned packages (installed here) require."""
    import importlib.metadata

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    project, _answers = baked
    floor = Version(tomllib.loads((project / "pyproject.toml").read_text("utf-8"))["project"]["requires-python"][2:])
    checked = 0
    for line in (project / "requirements.txt").read_text(encoding="utf-8").splitlines():
        pin = re.match(r"([A-Za-z0-9_.-]+)==([^\s#]+)", line)
        if not pin:
            continue
        try:
            dist = importlib.metadata.distribution(pin[1])
        except importlib.metadata.PackageNotFoundError:
            continue
        if dist.version == pin[2] and dist.metadata.get("Requires-Python"):
            assert floor in SpecifierSet(dist.metadata["Requires-Python"]), (pin[1], dist.metadata["Requires-Python"])
            checked += 1
    assert checked >= 5  # most pins are installed here at the same version


def test_citation_is_valid_yaml_with_the_lead(baked):
    import yaml

    project, answers = baked
    cff = yaml.safe_load((project / "CITATION.cff").read_text(encoding="utf-8"))
    lead = answers.get("lead_researcher", "A. Researcher")
    author = cff["authors"][0]
    assert f"{author.get('given-names', '')} {author['family-names']}".strip() == lead
    assert cff["title"] == answers["project_title"]


def test_structured_files_parse_whatever_the_title(baked):
    import yaml

    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

    project, answers = baked
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == answers["project_title"]
    for name in ("CITATION.cff", "config.yaml", ".pre-commit-config.yaml", "environment.yml"):
        assert yaml.safe_load((project / name).read_text(encoding="utf-8")), name
    notebook = json.loads((project / "notebooks/01-first-look.ipynb").read_text(encoding="utf-8"))
    assert answers["project_title"] in "".join(notebook["cells"][0]["source"])
    for path in project.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_data_request_lists_every_variable_of_the_chosen_datasets(baked):
    project, answers = baked
    request = (project / "docs/application/data-request.md").read_text(encoding="utf-8")
    chosen = {d.strip() for d in answers["datasets"].split(",")}
    for name, spec in datasets().items():
        for table in spec.tables.values():
            heading = f"### `{table.key}`"
            assert (heading in request) is (name in chosen), heading
            if name in chosen:
                section = request.split(heading, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
                rows = [line for line in section.splitlines() if line.startswith("| `")]
                assert [r.split("`")[1] for r in rows] == table.column_names
                assert all(r.endswith("| |") for r in rows)  # the justification column, left for the researcher


def test_application_drafts_carry_the_answers(baked):
    project, answers = baked
    form = (project / "docs/application/secure-access-form.md").read_text(encoding="utf-8")
    panel = (project / "docs/application/research-accreditation-panel.md").read_text(encoding="utf-8")
    assert answers["project_title"] in form and answers["project_title"] in panel
    for question in ("Public benefit", "Analytical merit", "Feasibility", "Privacy risks mitigated", "Ethics"):
        assert f". {question}" in panel
    assert ("Secure access to data" in form) is (answers["secure_environment"] == "ONS SRS")


def test_notebook_is_committed_without_outputs(baked):
    project, _answers = baked
    cells = json.loads((project / "notebooks/01-first-look.ipynb").read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)


def test_precommit_hook_is_local(baked):
    import yaml

    project, _answers = baked
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [r["repo"] for r in config["repos"]] == ["local"]


BAD_ANSWERS = {
    "slug with a hyphen": ({"project_slug": "my-project"}, "project slug 'my-project' is not valid"),
    "slug starting with a digit": ({"project_slug": "2025_study"}, "is not valid"),
    "slug a keyword": ({"project_slug": "class"}, "is not valid"),
    "unknown dataset": ({"datasets": "magistrates,police"}, "unknown dataset 'police'"),
    "the truth": ({"datasets": "truth"}, "unknown dataset 'truth'"),
    "no dataset": ({"datasets": " "}, "no datasets named"),
    "MoJ-DfE in SAIL": ({"secure_environment": "SAIL Databank", "datasets": "moj_dfe"}, "ONS SRS only"),
    "Cafcass in the SRS": ({"secure_environment": "ONS SRS", "datasets": "family,cafcass"}, "SAIL Databank only"),
    "empty lead": ({"lead_researcher": " "}, "lead researcher must not be empty"),
    "no linked dataset": ({"datasets": "moj_dfe"}, "linking table, which does not cover moj_dfe"),
}


@pytest.mark.parametrize(("answers", "message"), list(BAD_ANSWERS.values()), ids=list(BAD_ANSWERS))
def test_hook_refuses_bad_answers_in_one_line(tmp_path, capfd, answers, message):
    with pytest.raises(FailedHookException):
        bake(tmp_path, answers)
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert list(tmp_path.iterdir()) == []  # nothing half-made is left


def test_new_project_bakes_offline_and_refuses_an_existing_folder(tmp_path, capsys):
    args = ["new-project", "--no-input", "--output-dir", str(tmp_path), "--title", "Unpaid work and RAR"]
    args += ["--environment", "sail", "--datasets", "probation", "--licence", "Apache-2.0", "--lead", "Jo Bloggs"]
    assert main(args) == 0
    project = tmp_path / "unpaid_work_and_rar"
    assert files_of(project) == {name.format(slug=project.name) for name in PROJECT_FILES}
    assert "SAIL Databank" in (project / "README.md").read_text(encoding="utf-8")
    assert str(project) in capsys.readouterr().out
    (project / "notes.md").write_text("my work", encoding="utf-8")
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith(f"{PREFIX} ") and "already exists" in err
    assert (project / "notes.md").read_text(encoding="utf-8") == "my work"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slug", "Bad Slug"], "is not valid"),
        (["--datasets", "crown_court,nonsense"], "unknown dataset 'nonsense'"),
        (["--environment", "sail", "--datasets", "moj_dfe"], "ONS SRS only"),
        (["--licence", "GPL-3.0"], "invalid choice"),
        (["--environment", "cloud"], "invalid choice"),
    ],
)
def test_new_project_bad_answers_are_one_line_and_exit_2(tmp_path, capfd, args, message):
    assert main(["new-project", "--no-input", "--output-dir", str(tmp_path), *args]) == 2
    err = capfd.readouterr().err  # file-descriptor level: a hook's own output would show here too
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX) and message in lines[0], lines
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("guard"), COMBINATIONS["srs-courts-mit"])


def _guard(project: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    script = project / "scripts" / "check_commit.py"
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, capture_output=True, text=True)


def test_guard_refuses_a_listed_parquet_file(project, tmp_path):
    (tmp_path / "extract.parquet").write_bytes(b"PAR1")
    result = _guard(project, "extract.parquet", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "refused: extract.parquet: data file (.parquet); data never go into git: keep it out of the repository"
    )


def test_guard_refuses_a_staged_parquet_file(project, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "analysis.py").write_text("print('hello')\n", encoding="utf-8")
    (repo / "results").mkdir()
    (repo / "results" / "people.PARQUET").write_bytes(b"PAR1")
    subprocess.run([*git, "add", "analysis.py", "results/people.PARQUET"], cwd=repo, check=True)
    result = _guard(project, cwd=repo)  # no arguments: the staged files, as a plain git hook
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "refused: results/people.PARQUET: data file (.PARQUET); data never go into git: keep it out of the repository"
    ]


def test_guard_lets_the_baked_project_through(project):
    files = sorted(files_of(project))
    result = _guard(project, *files, cwd=project)
    assert result.returncode == 0, result.stderr


def test_baked_code_is_ruff_clean(project):
    """The baked code meets this project's own lint rules (the template's files are not linted before baking)."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).is_file():
        pytest.skip("ruff is not installed (pip install -e .[dev])")
    result = subprocess.run(
        [ruff, "check", "--config", str(ROOT / "pyproject.toml"), "."], cwd=project, capture_output=True
    )
    assert result.returncode == 0, result.stdout.decode()[-3000:]


def test_template_ships_in_the_wheel_configuration():
    """The wheel carries sdfirst/_template (a link to template/ in the source tree): see pyproject.toml."""
    link = ROOT / "src" / "sdfirst" / "_template"
    assert link.is_symlink() and link.resolve() == (ROOT / "template").resolve()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"_template/**/.*"' in pyproject  # dotfiles (.gitignore, .pre-commit-config.yaml) are included too


@pytest.mark.slow
def test_baked_project_tests_pass_on_synthetic_data(tmp_path):
    """The baked project's own tests and notebook (nbval), run with this environment's Python and no installation."""
    project = bake(tmp_path, COMBINATIONS["srs-courts-mit"])
    synthetic = tmp_path / "synthetic"
    sdfirst = [sys.executable, "-m", "sdfirst.cli"]
    synth = ["synth", "--people", "2000", "--seed", "1", "--datasets", "magistrates,crown_court", "--quiet"]
    made = subprocess.run(
        [*sdfirst, *synth, "--out", str(synthetic)],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    linked = subprocess.run([*sdfirst, "link", str(synthetic), "--quiet"], capture_output=True, text=True)
    assert linked.returncode == 0, linked.stderr[-2000:]
    prefix = project.name.upper()
    env = {**os.environ, "PYTHONPATH": str(project / "src"), f"{prefix}_SYNTHETIC": str(synthetic)}
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-rs", "tests"]
    if _importable("nbval"):  # the project's own setting: the notebook runs too, in this environment's kernel
        args += ["--nbval-lax", "--nbval-current-env", "notebooks"]
    result = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"\b\d+ passed", result.stdout), result.stdout[-1000:]
    if _importable("acro"):
        assert "skipped" not in result.stdout  # the acro example ran
    checked = subprocess.run([*sdfirst, "check-schema", str(synthetic), "--datasets", "magistrates,crown_court"])
    assert checked.returncode == 0


def test_baked_data_code_reads_the_share_s_year_files_as_connect_does(tmp_path):
    """The baked project's data code, which imports no sdfirst, reads the MoJ-DfE share's delimited text, one file a
    year with the year's digits on every column and some columns in some years only, into the views that
    sdfirst.connect gives: the same columns and the same values (content hashes), the census's year included."""
    from sdfirst.synth import generate

    project = bake(tmp_path, COMBINATIONS["srs-education-ogl"])
    synthetic = tmp_path / "synthetic"
    manifest = generate(synthetic, people=3_000, seed=2, datasets="moj_dfe")
    out = tmp_path / "read"
    out.mkdir()
    keys = ["moj_dfe.school_census", "moj_dfe.absence", "moj_dfe.exclusions", "moj_dfe.pnc_offences"]
    script = (
        f"from {project.name}.data import connect\n"
        "con = connect()\n"
        f"for key in {keys!r}:\n"
        f"    con.execute(f\"COPY (SELECT * FROM {{key}}) TO '{out}/{{key}}.parquet'\")\n"
    )
    env = {**os.environ, "PYTHONPATH": str(project / "src"), f"{project.name.upper()}_SYNTHETIC": str(synthetic)}
    ran = subprocess.run([sys.executable, "-c", script], cwd=project, env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr[-2000:]
    import pyarrow.parquet as pq

    from sdfirst.synth.output import content_hash

    for key in keys:
        table = pq.read_table(out / f"{key}.parquet")
        assert table.column_names == manifest["tables"][key]["columns"], key
        assert f"{content_hash(table):016x}" == manifest["tables"][key]["content_hash"], key


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --- The baked README, followed word for word in a new environment, as a fellow would on a fresh laptop ---------------

#: Only what a fresh laptop has: no variable of this repository's environment, no pip configuration. Certificates and
#: proxies are the network's, not the environment's, so they are kept.
NETWORK = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_CERT", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")
GIT = ["git", "-c", "user.name=A Fellow", "-c", "user.email=fellow@example.org"]


def readme_blocks(project: Path, heading: str) -> list[str]:
    """The shell blocks (```sh) under one `### heading` of the baked README, in order."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert f"### {heading}\n" in readme, heading
    section = re.split(r"\n##+ ", readme.split(f"### {heading}\n", 1)[1], maxsplit=1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert blocks, f"no shell block under {heading}"
    return blocks


def fresh_env(tmp: Path, offline: bool) -> dict[str, str]:
    """A laptop's environment: `python3` is a bare interpreter (no packages), HOME is empty, pip has no config."""
    tools = tmp / "tools"
    tools.mkdir(exist_ok=True)
    python3 = tools / "python3"
    if not python3.exists():
        python3.symlink_to(getattr(sys, "_base_executable", sys.executable))
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    env = {name: os.environ[name] for name in NETWORK if name in os.environ}
    env |= {name.lower(): os.environ[name.lower()] for name in NETWORK if name.lower() in os.environ}
    env |= {
        "PATH": f"{tools}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PIP_CONFIG_FILE": os.devnull,  # not this machine's find-links, extra indexes or constraints
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_COMPILE": "0",  # = --no-compile (pip reads the value as `compile`): no byte code, the same packages
        # the cache only spares downloads: with an index pip still resolves every name there; with none it is unused
        "PIP_CACHE_DIR": str(Path.home() / ".cache" / "pip-template-tests"),
    }
    if offline:
        env["PIP_NO_INDEX"] = "1"
    return env


def follow(project: Path, blocks: list[str], env: dict[str, str], log: Path) -> None:
    """Run README blocks as one shell script (so an activated environment carries from block to block)."""
    script = "set -e\n" + "\n".join(blocks)
    with log.open("a", encoding="utf-8") as out:
        result = subprocess.run(["bash", "-c", script], cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT)
    assert result.returncode == 0, log.read_text(encoding="utf-8")[-6000:]


def new_project(tmp: Path, *args: str) -> Path:
    """Bake with the project's own command, in this repository's environment (the machine that has sdfirst)."""
    out = tmp / "baked"
    made = subprocess.run(
        [sys.executable, "-m", "sdfirst.cli", "new-project", "--no-input", "--output-dir", str(out), *args],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    (project,) = out.iterdir()
    return project


def assert_sdfirst_is_the_carried_wheel(project: Path, env: dict[str, str]) -> None:
    """The `sdfirst` the project imports is, file for file, the one in the wheel under wheels/."""
    where = subprocess.run(
        [".venv/bin/python", "-c", "import sdfirst; print(sdfirst.__file__)"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.returncode == 0, where.stderr
    installed = Path(where.stdout.strip()).parent
    assert (project / ".venv").resolve() in installed.resolve().parents  # not this repository's environment
    import zipfile

    with zipfile.ZipFile(project / "wheels" / wheel_filename()) as wheel:
        files = [n for n in wheel.namelist() if n.startswith("sdfirst/")]
        assert len(files) > 50
        for name in files:
            assert (installed.parent / name).read_bytes() == wheel.read(name), name


BAD_FILES = {
    "extract.parquet": b"PAR1",
    "data/people.csv": b"person_id,sex\n1,F\n",
    "notebooks/scratch.ipynb": json.dumps(
        {"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [], "source": "1"}]}
    ).encode(),
    "settings.py": b"API_TOKEN = 'x7Gq2pLk9Zr4'\n",
}


def assert_guard_refuses(project: Path, env: dict[str, str]) -> None:
    """The first commit goes through the hook as installed; each bad file is then refused and nothing committed."""

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*GIT, *args], cwd=project, env=env, capture_output=True, text=True)

    assert git("add", "-A").returncode == 0
    first = git("commit", "-q", "-m", "First commit")
    assert first.returncode == 0, first.stderr
    committed = set(git("ls-files").stdout.split())
    assert f"wheels/{wheel_filename()}" in committed and not any(
        n.startswith(("data/synthetic", ".venv")) for n in committed
    )
    head = git("rev-parse", "HEAD").stdout
    for name, content in BAD_FILES.items():
        path = project / name
        path.write_bytes(content)
        assert git("add", "-f", name).returncode == 0  # past .gitignore: the hook is what must stop it
        refused = git("commit", "-q", "-m", f"add {name}")
        assert refused.returncode != 0 and f"refused: {name}" in refused.stderr, (name, refused.stderr)
        assert git("rev-parse", "HEAD").stdout == head, name
        git("rm", "-q", "--cached", name)
        path.unlink()


def assert_outputs_logged(project: Path) -> None:
    log = (project / "outputs" / "request-log.md").read_text(encoding="utf-8")
    rows = [line for line in log.splitlines() if line.startswith("| R001 |")]
    assert any("| people_by_" in row for row in rows), log
    assert all(row.split("|")[5].strip() in ("pass", "review") for row in rows), log
    assert (project / "outputs" / "requests" / "R001" / "results.json").is_file()


@pytest.mark.slow
class TestReadmeOnline:
    """A class of its own, so that `--dist loadscope` runs it beside the offline one."""

    def test_readme_online_on_a_fresh_laptop(self, tmp_path):
        """ONS SRS, probation and prison: the README's set-up and synthetic-data steps, with the real package index."""
        project = new_project(tmp_path, "--title", "Probation requirements study", "--datasets", "probation,prison")
        env = fresh_env(tmp_path, offline=False)
        steps = readme_blocks(project, "1. Set up") + readme_blocks(project, "2. Build on synthetic data")
        follow(project, steps, env, tmp_path / "readme.log")
        assert_sdfirst_is_the_carried_wheel(project, env)
        assert_outputs_logged(project)
        assert_guard_refuses(project, env)


@pytest.mark.slow
class TestReadmeOffline:
    """A class of its own, so that `--dist loadscope` runs it beside the online one."""

    def test_readme_offline_as_inside_the_secure_environment(self, tmp_path):
        """SAIL, family and civil: wheels made on the laptop, carried in, and everything run with no package index."""
        args = ["--title", "Parents in court", "--environment", "sail", "--datasets", "family,civil"]
        laptop = new_project(tmp_path, *args)
        online = fresh_env(tmp_path, offline=False)
        follow(laptop, readme_blocks(laptop, "4. No internet inside")[:1], online, tmp_path / "laptop.log")
        inside = tmp_path / "inside" / laptop.name  # what is carried in: the folder without .venv/, .git/ and data
        shutil.copytree(laptop, inside, ignore=lambda folder, names: _left_behind(laptop, Path(folder), names))
        offline = fresh_env(tmp_path, offline=True)
        follow(inside, readme_blocks(inside, "4. No internet inside")[1:], offline, tmp_path / "inside.log")
        assert_sdfirst_is_the_carried_wheel(inside, offline)
        assert_outputs_logged(inside)
        assert_guard_refuses(inside, offline)


def test_hook_as_installed_refuses_data_notebooks_and_secrets(project, tmp_path):
    """`git init` and `make hooks` as the README says, then `git commit`: the hook, not a direct call, refuses."""
    copy = tmp_path / project.name
    shutil.copytree(project, copy)
    env = fresh_env(tmp_path, offline=True)  # make hooks needs nothing installed, and the guard only the stdlib
    for step in (["git", "init", "-q"], ["make", "hooks"]):
        assert subprocess.run(step, cwd=copy, env=env, capture_output=True).returncode == 0, step
    assert_guard_refuses(copy, env)


def _left_behind(top: Path, folder: Path, names: list[str]) -> set[str]:
    """What is not carried into the secure environment: the environment, git's folder and the data made here."""
    if folder == top:
        return {".venv", ".git"} & set(names)
    if folder == top / "data":
        return set(names) - {"README.md"}
    return set()


def test_targets_stop_in_one_line_when_nothing_is_installed(project, tmp_path):
    """`make data` or `make test` in a freshly baked project, with a Python that has nothing installed."""
    env = fresh_env(tmp_path, offline=True)
    for target in ("data", "check-schema", "test", "outputs"):
        result = subprocess.run(["make", target], cwd=project, env=env, capture_output=True, text=True)
        lines = result.stderr.strip().splitlines()
        assert result.returncode != 0 and len(lines) == 1 and "make install" in lines[0], (target, result.stderr)
    hooks = subprocess.run(["make", "hooks"], cwd=project, env=env, capture_output=True, text=True)
    lines = hooks.stderr.strip().splitlines()
    assert hooks.returncode != 0 and len(lines) == 1 and "run git init first" in lines[0], hooks.stderr
