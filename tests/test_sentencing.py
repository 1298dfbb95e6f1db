"""The sentencing analysis: the frame builder on hand-made tables, and the models on simulated frames whose
coefficients are known."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from sdfirst.analysis import sentencing as s
from sdfirst.journeys import TRUTH

TRUE = {"Black": 0.6, "Asian": -0.4}


def _hand_made() -> duckdb.DuckDBPyConnection:
    """Two people: p1 (White, tried with a co-defendant) with two earlier magistrates' cases and a breach, p2
    (Black, alone) with none before the offence; plus an appeal, an acquittal and a 'Not stated' row that the
    frame must leave out."""
    con = duckdb.connect()
    for schema in ("crown_court", "magistrates", "truth"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(
        """CREATE TABLE crown_court.case_summary AS SELECT * FROM (VALUES
        ('c1', 'Trial', 'Leeds', 'White', 'M', 30, 'Robbery', 4, TRUE, 'Guilty', DATE '2015-06-01',
         DATE '2015-08-01', 'Immediate custody', 400, 2),
        ('c2', 'Sentence', 'York', 'Black', 'F', 17, 'Theft offences', 2, FALSE, 'Guilty', DATE '2016-01-01',
         DATE '2016-02-01', 'Community order', NULL, 1),
        ('c3', 'Appeal', 'York', 'White', 'M', 30, 'Theft offences', 2, FALSE, 'No plea', DATE '2016-01-01',
         DATE '2016-02-01', NULL, NULL, 1),
        ('c4', 'Trial', 'York', 'White', 'M', 30, 'Theft offences', 2, FALSE, 'Not guilty', DATE '2016-01-01',
         DATE '2016-02-01', NULL, NULL, 1),
        ('c5', 'Trial', 'York', 'Not stated', 'M', 40, 'Theft offences', 3, FALSE, 'Not guilty', NULL,
         DATE '2016-02-01', 'Fine', NULL, 1)
        ) AS t(row_id_hash, case_type, court_name, ethnicity, sex, age_at_receipt, offence_group,
               offence_severity, remanded_in_custody, plea, offence_date, receipt_date, disposal_type,
               custody_length_days, number_of_defendants)"""
    )
    con.execute(
        """CREATE TABLE magistrates.case_summary AS SELECT * FROM (VALUES
        ('m1', DATE '2012-01-01', 'N'), ('m2', DATE '2013-01-01', NULL), ('m3', DATE '2014-01-01', 'Y'),
        ('m4', DATE '2015-06-20', 'N'), ('m5', DATE '2016-01-10', 'N')
        ) AS t(row_id_hash, first_hearing_date, breach_marker)"""
    )
    con.execute(
        """CREATE TABLE truth.record_person AS SELECT * FROM (VALUES
        ('crown_court', 'case_summary', 'c1', 1), ('crown_court', 'case_summary', 'c2', 2),
        ('crown_court', 'case_summary', 'c3', 1), ('crown_court', 'case_summary', 'c4', 1),
        ('crown_court', 'case_summary', 'c5', 3),
        ('magistrates', 'case_summary', 'm1', 1), ('magistrates', 'case_summary', 'm2', 1),
        ('magistrates', 'case_summary', 'm3', 1), ('magistrates', 'case_summary', 'm4', 1),
        ('magistrates', 'case_summary', 'm5', 2)
        ) AS t(dataset, table_name, row_id_hash, person_id)"""
    )
    return con


def test_frame_keeps_crown_sentences_and_counts_previous_cases():
    frame = s.sentencing_frame(_hand_made(), key=TRUTH)
    assert frame["row_id_hash"].tolist() == ["c1", "c2"]
    assert frame["person"].tolist() == ["1", "2"]
    c1, c2 = frame.iloc[0], frame.iloc[1]
    # m1 and m2 before the offence; m3 is a breach; m4 (the case's own first hearing) comes after the offence
    assert c1["previous_cases"] == 2 and c2["previous_cases"] == 0
    assert (c1["custody"], c1["custody_days"], c1["remanded"], c1["guilty_plea"], c1["youth"]) == (1, 400, 1, 1, 0)
    assert c2["custody"] == 0 and pd.isna(c2["custody_days"]) and c2["youth"] == 1
    assert frame["co_defendants"].tolist() == [1, 0]
    assert c1["log_days"] == pytest.approx(np.log(400))


def test_frame_caps_previous():
    frame = s.sentencing_frame(_hand_made(), key=TRUTH, previous_cap=1)
    assert frame["previous"].tolist() == [1, 0]
    assert frame["previous_cases"].tolist() == [2, 0]


def test_frame_with_linkage_output():
    """Under the linkage output, a wrong link that joins m1 to somebody else drops one previous case."""
    link = pa.table(
        {
            "source_dataset": ["crown_xhibit", "crown_xhibit", "mags_hocas", "mags_hocas", "familyman"],
            "row_id_hash": ["c1", "c2", "m1", "m2", "m2"],
            "estimated_xjs_id": ["a", "b", "z", "a", "a"],
        }
    )
    con = _hand_made()
    con.execute("CREATE SCHEMA linking")
    con.register("link", link)
    con.execute("CREATE TABLE linking.xjs_link AS SELECT * FROM link")
    frame = s.sentencing_frame(con)
    assert frame["previous_cases"].tolist() == [1, 0]
    assert frame["person"].tolist() == ["a", "b"]


def _simulated(n: int = 20_000, courts: int = 40, court_sd: float = 0.0, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "ethnicity": rng.choice(["White", "Black", "Asian"], n, p=[0.6, 0.2, 0.2]),
            "severity": rng.integers(1, 4, n),
            "remanded": rng.integers(0, 2, n),
            "court": rng.integers(0, courts, n).astype(str),
        }
    )
    court_effect = rng.normal(0, court_sd, courts)[frame["court"].astype(int)] if court_sd else 0.0
    logit = -1.0 + 0.5 * frame["severity"] + 0.8 * frame["remanded"] + frame["ethnicity"].map(TRUE).fillna(0.0)
    frame["custody"] = (rng.random(n) < 1 / (1 + np.exp(-(logit + court_effect)))).astype(int)
    frame["log_days"] = (
        4.0 + 0.3 * frame["severity"] + 0.2 * (frame["ethnicity"] == "Black") + court_effect + rng.normal(0, 0.5, n)
    )
    return frame


FORMULA = "custody ~ " + s.ETHNICITY + " + severity + remanded"


def test_logit_recovers_known_log_odds():
    effects = s.ethnicity_effects(s.tidy(s.fit_logit(_simulated(), FORMULA)))
    assert effects["group"].tolist() == ["Asian", "Black"]
    for group, est in zip(effects["group"], effects["estimate"], strict=True):
        assert est == pytest.approx(TRUE[group], abs=0.12)
    table = s.compare_with_truth(effects, TRUE)
    assert table["covers_truth"].all()


def test_mixed_logit_recovers_known_log_odds_and_is_deterministic():
    frame = _simulated(n=8_000, court_sd=0.5, seed=2)
    first = s.tidy(s.fit_mixed_logit(frame, FORMULA))
    second = s.tidy(s.fit_mixed_logit(frame, FORMULA))
    pd.testing.assert_frame_equal(first, second)
    effects = s.ethnicity_effects(first).set_index("group")["estimate"]
    assert effects["Black"] == pytest.approx(TRUE["Black"], abs=0.2)
    assert effects["Asian"] == pytest.approx(TRUE["Asian"], abs=0.2)


def test_mixed_length_recovers_known_coefficient():
    frame = _simulated(n=5_000, court_sd=0.3, seed=3)
    table = s.tidy(s.fit_mixed_length(frame, "log_days ~ " + s.ETHNICITY + " + severity"))
    assert not table["term"].str.endswith("Var").any()
    effects = s.ethnicity_effects(table).set_index("group")["estimate"]
    assert effects["Black"] == pytest.approx(0.2, abs=0.05)
    assert effects["Asian"] == pytest.approx(0.0, abs=0.05)


def test_tidy_interval_is_estimate_plus_minus_z_se():
    table = s.tidy(s.fit_logit(_simulated(n=3_000), FORMULA), digits=6)
    assert np.allclose(table["ci_high"] - table["estimate"], s.Z95 * table["std_error"], atol=1e-5)
    assert np.allclose(table["estimate"] - table["ci_low"], s.Z95 * table["std_error"], atol=1e-5)


def test_formula_and_truth():
    assert s.formula(legal=False) == f"custody ~ {s.ETHNICITY}"
    assert "remanded" in s.formula() and s.formula("log_days").startswith("log_days ~ ")
    assert s.formula().endswith("+ co_defendants")
    truth = s.true_log_odds()
    assert truth["White"] == 0.0 and set(truth) == set(s.ETHNIC_GROUPS)


def test_compare_flags_an_interval_that_misses():
    effects = pd.DataFrame({"group": ["Black"], "estimate": [1.0], "ci_low": [0.8], "ci_high": [1.2]})
    table = s.compare_with_truth(effects, {"Black": 0.22})
    assert table.loc[0, "true"] == 0.22 and not table.loc[0, "covers_truth"]


def test_mixed_logit_drops_incomplete_rows():
    frame = _simulated(n=2_000, seed=4)
    frame["sex"] = np.where(np.arange(len(frame)) % 50 == 0, None, "M")
    frame.loc[::40, "court"] = None
    kept = s.complete_cases(frame, FORMULA + " + sex", "court")
    assert len(kept) == len(frame) - len(set(range(0, 2_000, 50)) | set(range(0, 2_000, 40)))
    result = s.fit_mixed_logit(frame, FORMULA)
    assert len(result.model.endog) == len(frame) - 50
