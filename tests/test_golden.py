"""The golden test: a small folder, generated and linked again, has exactly the content hashes pinned in the repo.

tests/test_determinism.py shows that two runs on one machine agree; this one compares with hashes made on another
machine and committed, so a change of platform, package version or code that alters the data fails here.
"""

from __future__ import annotations

import golden


def test_the_pins_are_for_the_current_settings():
    pins = golden.load_pins()
    assert pins["settings"] == golden.SETTINGS, f"the settings changed: run `{golden.UPDATE_COMMAND}`"
    assert any(key.startswith("linking.") for key in pins["tables"])
    assert len(pins["tables"]) > 20


def test_generated_and_linked_data_match_the_pins(tmp_path):
    pins = golden.load_pins()
    found = golden.folder_hashes(tmp_path)
    assert found == pins["tables"], golden.failure_message(pins, found)


def test_the_failure_message_names_the_tables_and_the_update_command():
    pins = {"tables": {"a.x": "01", "a.y": "02", "a.gone": "03"}, "versions": {"duckdb": "0.0.1"}}
    found = {"a.x": "01", "a.y": "ff", "a.new": "04"}
    message = golden.failure_message(pins, found)
    assert message.startswith("the generated data changed (3 of 3 tables differ")
    assert "a.y: ff (pinned 02)" in message
    assert "a.gone: pinned but no longer generated" in message
    assert "a.new: generated but not pinned" in message
    assert "a.x" not in message
    assert "duckdb" in message and "(pinned with 0.0.1)" in message
    assert message.endswith(f"run `{golden.UPDATE_COMMAND}` and commit the new pins with the change.")
