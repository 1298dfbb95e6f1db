"""Output checking with ACRO (sdfirst.outputs) on small hand-made tables whose answers are known."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from sdfirst.exceptions import DataFirstError
from sdfirst.outputs import COURSE_RULES, check_results, finalise, open_session, summarise


def small_cell_table() -> pd.DataFrame:
    """Area B has 3 women and 2 men: two cells under 10. Areas A and C have 15 and 10 of each."""
    area = ["A"] * 30 + ["B"] * 5 + ["C"] * 20
    sex = ["F", "M"] * 15 + ["F", "M", "F", "M", "F"] + ["F", "M"] * 10
    return pd.DataFrame({"area": area, "sex": sex})


def dominated_sums() -> pd.DataFrame:
    """Group X: one contributor of 1,000 and eleven of 1 (it dominates its total). Group Y: twelve of 5."""
    return pd.DataFrame({"group": ["X"] * 12 + ["Y"] * 12, "amount": [1000] + [1] * 11 + [5] * 12})


def check_status(frame: pd.DataFrame, output: str, check: str) -> tuple[str, int | None]:
    row = frame[(frame["output"] == output) & (frame["check"] == check)]
    assert len(row) == 1
    cells = row["cells"].iloc[0]
    return row["status"].iloc[0], None if pd.isna(cells) else int(cells)


def test_course_rules_are_acros_defaults():
    session = open_session()
    for name, value in COURSE_RULES.items():
        assert session.config[name] == value
    import acro

    defaults = acro.ACRO().config
    assert {name: defaults[name] for name in COURSE_RULES} == COURSE_RULES


def test_a_cell_under_ten_is_flagged():
    data = small_cell_table()
    session = open_session()
    table = session.crosstab(data["area"], data["sex"])
    assert table.loc["B"].tolist() == [3, 2]  # with no mitigation the table is returned as it is
    summary = summarise(session)
    assert summary[["output", "type", "method", "status"]].iloc[0].tolist() == ["output_0", "table", "crosstab", "fail"]
    assert summary["reasons"].iloc[0] == "MinimumThresholdCheck (2 cells)"
    checks = check_results(session)
    assert check_status(checks, "output_0", "MinimumThresholdCheck") == ("fail", 2)
    assert check_status(checks, "output_0", "PresenceOfZeroCheck") == ("pass", 0)


def test_a_dominated_total_fails_both_dominance_rules():
    data = dominated_sums()
    session = open_session()
    session.crosstab(data["group"], pd.Series(["all"] * len(data), name="total"), values=data["amount"], aggfunc="sum")
    checks = check_results(session)
    assert check_status(checks, "output_0", "NKCheck") == ("fail", 1)  # only X: 1,001 of 1,011 in its top two
    assert check_status(checks, "output_0", "PPercentCheck") == ("fail", 1)
    assert check_status(checks, "output_0", "MinimumThresholdCheck") == ("pass", 0)  # 12 contributors each
    assert summarise(session)["reasons"].iloc[0] == "NKCheck (1 cell); PPercentCheck (1 cell)"


def test_a_table_with_ten_or_more_in_every_cell_passes():
    data = small_cell_table()
    data = data[data["area"] != "B"]
    session = open_session()
    session.crosstab(data["area"], data["sex"])
    summary = summarise(session)
    assert summary["status"].tolist() == ["pass"]
    assert summary["reasons"].tolist() == [""]
    assert (check_results(session)["status"] == "pass").all()


def test_a_zero_is_flagged():
    data = pd.DataFrame({"a": ["A"] * 20 + ["B"] * 20, "b": ["x"] * 30 + ["y"] * 10})
    session = open_session()
    session.crosstab(data["a"], data["b"])
    assert check_status(check_results(session), "output_0", "PresenceOfZeroCheck") == ("fail", 1)


def test_suppression_blanks_the_small_cells_and_asks_for_review():
    data = small_cell_table()
    session = open_session(mitigation="suppress")
    table = session.crosstab(data["area"], data["sex"])
    assert table.loc["B"].isna().all()
    assert table.loc["A"].tolist() == [15, 15]
    summary = summarise(session)
    assert summary[["status", "mitigation"]].iloc[0].tolist() == ["review", "suppress"]
    assert "Suppression" in summary["exception"].iloc[0]


def test_rounding_gives_multiples_of_the_base():
    data = small_cell_table()
    session = open_session(mitigation="round", round_base=5)
    table = session.crosstab(data["area"], data["sex"])
    assert table.loc["B"].tolist() == [5, 0]  # 3 and 2 rounded to the nearest 5
    assert (table.to_numpy() % 5 == 0).all()
    assert summarise(session)["mitigation"].iloc[0] == "round"


def test_a_rule_can_be_made_stricter():
    data = small_cell_table()
    data = data[data["area"] != "B"]
    session = open_session(safe_threshold=12)
    session.crosstab(data["area"], data["sex"])
    assert check_status(check_results(session), "output_0", "MinimumThresholdCheck") == ("fail", 2)  # C: 10 each


def test_a_model_needs_ten_residual_degrees_of_freedom():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.normal(size=12), "y": rng.normal(size=12)})
    session = open_session()
    session.olsr("y ~ x", data=data.iloc[:11])  # 11 observations, 2 parameters: 9 residual degrees of freedom
    session.olsr("y ~ x", data=data)  # 12 observations: 10
    summary = summarise(session)
    assert summary["status"].tolist() == ["fail", "pass"]
    assert summary["type"].tolist() == ["regression", "regression"]
    assert summary["reasons"].tolist() == ["MinimumDoFCheck: fail dof=9 < 10", "MinimumDoFCheck: pass dof=10 >= 10"]
    assert check_status(check_results(session), "output_0", "MinimumDoFCheck") == ("fail", None)


def test_bad_options_are_refused():
    with pytest.raises(DataFirstError, match="unknown mitigation"):
        open_session(mitigation="blur")
    with pytest.raises(DataFirstError, match="safe_treshold"):
        open_session(safe_treshold=5)


def test_opening_a_session_leaves_the_root_logger_alone():
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    open_session()
    assert (root.level, list(root.handlers)) == before
    assert logging.getLogger("acro").level == logging.WARNING


def test_finalise_writes_what_the_checker_reads(tmp_path):
    data = small_cell_table()
    session = open_session()
    session.crosstab(data["area"], data["sex"])
    session.crosstab(data.loc[data["area"] != "B", "area"], data.loc[data["area"] != "B", "sex"])
    in_memory = summarise(session)
    folder = finalise(session, tmp_path / "for-checking")
    assert (folder / "results.json").is_file()
    assert (folder / "config.json").is_file()
    assert json.loads((folder / "config.json").read_text())["safe_threshold"] == 10
    assert {"output_0_0.csv", "output_1_0.csv"} <= {p.name for p in folder.iterdir()}
    assert (folder / "checksums" / "output_0_0.csv.txt").is_file()
    from_file = summarise(folder)
    pd.testing.assert_frame_equal(from_file.iloc[: len(in_memory)], in_memory)
    # ACRO adds its own summary of which variables each output uses, for the checker only
    assert (from_file.iloc[len(in_memory) :]["status"] == "review").all()
    pd.testing.assert_frame_equal(check_results(folder / "results.json"), check_results(session))


def test_finalise_refuses_an_existing_folder_and_an_empty_session(tmp_path):
    with pytest.raises(DataFirstError, match="no outputs"):
        finalise(open_session(), tmp_path / "empty")
    data = small_cell_table()
    session = open_session()
    session.crosstab(data["area"], data["sex"])
    with pytest.raises(DataFirstError, match="already exists"):
        finalise(session, tmp_path)


def test_summarise_needs_a_finalised_folder(tmp_path):
    with pytest.raises(DataFirstError, match="finalise"):
        summarise(tmp_path)
