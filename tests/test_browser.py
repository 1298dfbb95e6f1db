"""tests/browser.py: what `make test` does about the book's browser on each platform, before any build starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import browser  # tests/browser.py

PY = "/x/.venv/bin/python"
DEBIAN = {"ID": "debian", "VERSION_ID": "12"}
UBUNTU = {"ID": "ubuntu", "ID_LIKE": "debian"}
MINT = {"ID": "linuxmint", "ID_LIKE": "ubuntu debian"}


def test_debian_as_root_with_apt_installs_debians_chromium():
    assert browser.advise("Linux", DEBIAN, is_root=True, has_apt=True, python=PY).run == browser.APT_INSTALL


@pytest.mark.parametrize(
    ("system", "release", "root", "apt", "says"),
    [
        ("Linux", DEBIAN, False, True, "sudo apt-get install chromium"),
        ("Linux", DEBIAN, True, False, "sudo apt-get install chromium"),
        ("Linux", UBUNTU, True, True, f"{PY} -m playwright install --with-deps chromium"),
        ("Linux", MINT, False, True, f"{PY} -m playwright install --with-deps chromium"),
        ("Darwin", {}, False, False, "brew install --cask chromium"),
        ("Windows", {}, False, False, f"{PY} -m playwright install chromium"),
        ("Linux", {"ID": "fedora"}, False, False, f"{PY} -m playwright install chromium"),
    ],
)
def test_elsewhere_the_user_is_told_the_command_and_nothing_is_installed(system, release, root, apt, says):
    advice = browser.advise(system, release, is_root=root, has_apt=apt, python=PY)
    assert advice.run is None
    assert advice.tell.startswith(says)


def test_os_release_is_read_with_quotes_removed(tmp_path: Path):
    path = tmp_path / "os-release"
    path.write_text('PRETTY_NAME="Debian GNU/Linux 12"\nID=debian\n\nnot a field\n', encoding="utf-8")
    assert browser.os_release(path) == {"PRETTY_NAME": "Debian GNU/Linux 12", "ID": "debian"}
    assert browser.os_release(tmp_path / "missing") == {}


def test_a_named_browser_wins_and_a_wrong_name_is_not_silently_replaced(tmp_path: Path, monkeypatch):
    fake = tmp_path / "my-chromium"
    fake.write_text("", encoding="utf-8")
    monkeypatch.setenv("SDFIRST_BROWSER", str(fake))
    assert browser.find() == str(fake)
    monkeypatch.setenv("SDFIRST_BROWSER", str(tmp_path / "absent"))
    assert browser.find() is None


def test_a_named_browser_that_is_missing_stops_in_one_line(tmp_path: Path):
    env = {"PATH": str(tmp_path), "SDFIRST_BROWSER": str(tmp_path / "absent")}
    done = subprocess.run([sys.executable, browser.__file__, "--ensure"], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == f"make test: SDFIRST_BROWSER names {tmp_path / 'absent'}, which is not a file"


def test_with_no_browser_and_no_way_to_install_it_stops_in_one_line(tmp_path: Path, monkeypatch, capsys):
    """No browser anywhere, not root: one line on stderr with the command, exit 1, and nothing run."""
    monkeypatch.delenv("SDFIRST_BROWSER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(browser, "DEBIAN_PATH", str(tmp_path / "chromium"))
    monkeypatch.setattr(browser, "MACOS_APPS", ())
    monkeypatch.setattr(browser, "_playwright_chromium", lambda: None)
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(browser, "os_release", lambda: DEBIAN)
    monkeypatch.setattr(browser.platform, "system", lambda: "Linux")
    monkeypatch.setattr(browser.subprocess, "run", lambda *a, **k: pytest.fail(f"ran {a}"))
    assert browser.ensure() == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "needs Chromium; run `sudo apt-get install chromium`, then make test again" in err
