"""The commit guard refuses data, notebooks with outputs, large files and secrets, and lets code through."""

from __future__ import annotations

import json
import subprocess
import sys


def _guard(project_root, *files, cwd):
    script = project_root / "scripts" / "check_commit.py"
    return subprocess.run([sys.executable, str(script), *map(str, files)], cwd=cwd, capture_output=True, text=True)


def test_refuses_a_parquet_file(project_root, tmp_path):
    (tmp_path / "extract.parquet").write_bytes(b"PAR1")
    result = _guard(project_root, "extract.parquet", cwd=tmp_path)
    assert result.returncode == 1
    assert "extract.parquet: data file" in result.stderr


def test_refuses_a_notebook_with_outputs(project_root, tmp_path):
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [], "source": "1"}
    (tmp_path / "n.ipynb").write_text(json.dumps({"cells": [cell]}), encoding="utf-8")
    result = _guard(project_root, "n.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert "notebook has outputs" in result.stderr


def test_refuses_a_large_file_and_a_secret(project_root, tmp_path):
    (tmp_path / "big.txt").write_text("x" * 2048, encoding="utf-8")
    (tmp_path / "settings.py").write_text("API_KEY = '" + "s3cr3t" * 3 + "'\n", encoding="utf-8")
    (tmp_path / "db.py").write_text("DB_PASSWORD = '" + "hunter2" * 2 + "'\n", encoding="utf-8")
    result = _guard(project_root, "big.txt", "settings.py", "db.py", "--max-kb", "1", cwd=tmp_path)
    assert result.returncode == 1
    assert "over the 1 KB limit" in result.stderr
    assert "settings.py: looks like it contains a password or token" in result.stderr
    assert "db.py: looks like it contains a password or token" in result.stderr


def test_lets_the_project_itself_through(project_root):
    files = [p.relative_to(project_root) for p in project_root.rglob("*") if p.is_file() and _tracked(p, project_root)]
    result = _guard(project_root, *files, cwd=project_root)
    assert result.returncode == 0, result.stderr


IGNORED = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints", "build", "dist"}
IGNORED |= {"requests"}  # outputs/requests/: outputs waiting for checking stay out of git


def _tracked(path, root) -> bool:
    """Files a commit of this project would hold (not data, caches or outputs waiting for checking)."""
    parts = path.relative_to(root).parts
    if parts[0] == "data":
        return parts == ("data", "README.md")
    if parts[0] == "wheels":  # sdfirst's own wheel is committed; the wheels `make wheels` downloads are not
        return path.name.startswith("synthetic_data_first-")
    return not any(part in IGNORED or part.endswith(".egg-info") for part in parts)
