"""The linkage and the analyses behind the book's chapters give the same results with DuckDB at one thread and two.

DuckDB runs on every core by default, so a result that depends on its thread count differs from one machine to the
next: a query whose row order feeds a random draw, a sample or a tie-break without a total order, or a parallel sum
of floating-point numbers. One small folder is generated and linked once (twice: the linkage itself at one thread and
at two, whose outputs must be the same), then the analyses each chapter calls are run on connections at one thread and
at two and compared exactly: DataFrames value for value and row for row, model results by their parameters.
(The other machine-dependence, of numpy's linear algebra, is met in matching: see tests/test_matching.py.)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

import sdfirst
from sdfirst.analysis import its, matching, sentencing, soc
from sdfirst.calibration import METRICS, courts, education  # noqa: F401  (importing registers the metrics)
from sdfirst.journeys import (
    ESTIMATED,
    TRUTH,
    Cohort,
    build_timeline,
    person_summary,
    return_rates_by_group,
    returned_by_year,
    returned_pct,
    returns_distribution,
    returns_sql,
    roles,
)
from sdfirst.journeys.pathways import pathways, sequences, stage_flows, transitions
from sdfirst.journeys.sensitivity import followed_by_pct, overlap_pct
from sdfirst.journeys.survival import at_risk, coverage_end, cox_model, hazard_ratios, kaplan_meier, survival_at
from sdfirst.journeys.survival import survival_table as reentry_table
from sdfirst.linkage import load_config
from sdfirst.linkage.blocking import comparisons_by_sample
from sdfirst.linkage.coverage import dataset_combinations
from sdfirst.linkage.evaluate import cluster_metrics
from sdfirst.linkage.model import settings, train
from sdfirst.linkage.pipeline import link
from sdfirst.linkage.sources import available_sources, load_person_records
from sdfirst.synth import generate

pytestmark = pytest.mark.slow

PEOPLE, SEED = 20_000, 11
LINKING_TABLES = ("xjs_link", "person_ids", "mags_crown_journey")
#: evaluation.json entries that time the run, and so differ from run to run
TIMINGS = ("seconds", "seconds_training", "records_per_second")


@pytest.fixture(scope="module")
def linked(tmp_path_factory) -> dict[str, Any]:
    """A folder linked at two threads (the one the analyses read), and its linkage output at one thread."""
    root = tmp_path_factory.mktemp("threads")
    folder = root / "data"
    generate(folder, people=PEOPLE, seed=SEED, workers=2)
    one = link(folder, threads=1)
    shutil.move(folder / "linking", root / "linking_one_thread")
    two = link(folder, threads=2)
    return {"folder": folder, "one": (root / "linking_one_thread", one), "two": (folder / "linking", two)}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def test_linkage_is_the_same_at_one_and_two_threads(linked):
    (one_dir, one), (two_dir, two) = linked["one"], linked["two"]
    for name in LINKING_TABLES:
        file = f"{name}.parquet"
        assert len(_read(two_dir / file)) > 0, name
        assert_frame_equal(_read(one_dir / file), _read(two_dir / file), check_exact=True, obj=name)
    assert {k: v for k, v in one.items() if k not in TIMINGS} == {k: v for k, v in two.items() if k not in TIMINGS}
    saved = json.loads((two_dir / "evaluation.json").read_text(encoding="utf-8"))
    assert saved["xjs"] == two["xjs"]


def test_the_trained_model_is_the_same_at_one_and_two_threads(linked):
    """Splink's EM sums match probabilities; at two threads the sum order (and the last digits) used to vary."""
    from splink import DuckDBAPI, Linker

    folder, cfg = linked["folder"], load_config()
    models = []
    for threads in (1, 2):
        con = sdfirst.connect(folder, threads=threads, view="identified")  # the linkage reads the identifiers
        load_person_records(con, available_sources(folder, cfg), cfg)
        linker = Linker(
            DuckDBAPI(connection=con).register("person_records", table_name="persons"),
            settings(cfg),
            log_level=logging.WARNING,
        )
        train(linker, cfg)
        model = linker.misc.save_model_to_json()
        model.pop("linker_uid")
        models.append(model)
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == threads, "threads not restored"
        con.close()
    assert models[0] == models[1]


# ---------------------------------------------------------------------------------------------------------------
# The analyses behind each chapter, as the notebooks call them, on one connection
# ---------------------------------------------------------------------------------------------------------------


def _linkage_chapters(con, folder: Path) -> dict[str, Any]:
    """Linking across justice, evaluating linkage, scaling up."""
    cfg = load_config()
    load_person_records(con, available_sources(folder, cfg), cfg)
    rules = {" + ".join(r): r for r in cfg["model"]["blocking_rules_to_generate_predictions"] if isinstance(r, list)}
    scored = """SELECT x.estimated_xjs_id AS cluster_id, coalesce(t.person_id::VARCHAR, x.row_id_hash) AS person_id
        FROM linking.xjs_link x LEFT JOIN truth.record_person t USING (row_id_hash)"""
    return {
        "dataset_combinations": dataset_combinations(con),
        "cluster_metrics": cluster_metrics(con, scored),
        "comparisons_by_sample": comparisons_by_sample(con, "person_records", rules, (0.25, 1.0)),
        "person_records": con.execute("SELECT * FROM person_records ORDER BY unique_id").df(),
    }


def _timeline_chapters(con) -> dict[str, Any]:
    """Person timelines, returning defendants, linkage error and bias."""
    cohort = Cohort(first_year=2011, end=dt.date(2019, 12, 31))
    build_timeline(con, ESTIMATED)
    build_timeline(con, TRUTH, table="truth_timeline")
    out: dict[str, Any] = {
        "timeline": con.execute("SELECT * FROM timeline").df(),
        "person_summary": person_summary(con, "timeline", ESTIMATED),
        "returns": con.execute(f"SELECT * FROM ({returns_sql('timeline', ESTIMATED, cohort)}) ORDER BY 1").df(),
    }
    for table, key in (("timeline", ESTIMATED), ("truth_timeline", TRUTH)):
        out[f"returned_pct {key}"] = returned_pct(con, table, key, cohort)
        out[f"returns_distribution {key}"] = returns_distribution(con, table, key, cohort)
        out[f"return_rates_by_group {key}"] = return_rates_by_group(con, table, key, cohort)
        out[f"returned_by_year {key}"] = returned_by_year(con, table, key, cohort)
        out[f"overlap_pct {key}"] = overlap_pct(con, table, key, ["civil_case"], ["magistrates_case"])
        out[f"followed_by_pct {key}"] = followed_by_pct(
            con, table, key, "magistrates_case", "prison_reception", 365, dt.date(2012, 1, 1), dt.date(2017, 12, 31)
        )
    return out


def _pathways_chapter(con) -> dict[str, Any]:
    paths = pathways(con, 2016)
    return {
        "pathways": paths,
        "transitions": transitions(paths),
        "stage_flows": stage_flows(paths),
        "sequences": sequences(paths, top=None),
        "pathways truth": pathways(con, 2016, key=TRUTH),
    }


def _reentry_chapter(con) -> dict[str, Any]:
    """Time to re-entry: the cohort, Kaplan-Meier curves and a Cox model."""
    table = reentry_table(con, "2014-01-01", "2018-12-31", end=coverage_end())
    cohort = at_risk(table)
    result = cox_model(cohort, covariates=("age", "C(sex)"))
    return {
        "survival_table": table,
        "survival_at": survival_at(kaplan_meier(cohort, group="disposal"), [365, 730]),
        "cox params": pd.Series(np.asarray(result.params)),
        "hazard_ratios": hazard_ratios(result),
    }


def _policy_chapter(con) -> dict[str, Any]:
    """Policy evaluation: the interrupted time series and the propensity-score matching (with its random draws)."""
    series = its.monthly_rotl(con, "2015-01-01", "2021-03-01")
    series["per_1000_eligible"] = 1000 * series["rotl"] / series["eligible"]
    fit = its.segmented_regression(series, "per_1000_eligible", "2019-05-01", hac_lags=6)
    cohort = matching.requirement_cohort(con, "2014-01-01", "2019-12-31", follow_up_days=365)
    pair = cohort[cohort["requirements"].isin([matching.BOTH, matching.UPW_ONLY])].reset_index(drop=True)
    pair = pair.assign(treated=(pair["requirements"] == matching.BOTH).astype(int))
    score = matching.logit(matching.propensity_scores(pair, "treated", ["age", "C(sex)", "np.log1p(previous_cases)"]))
    pairs = matching.match_nearest(score, pair["treated"].to_numpy(), caliper=0.2 * score.std(), seed=1)
    keep = np.random.default_rng(2019).random(len(pair)) < 0.5  # a draw per row: the rows' order must be fixed
    return {
        "monthly_rotl": series,
        "its_effects": its.its_effects(fit),
        "requirement_cohort": cohort,
        "pairs": pairs,
        "balance": matching.balance_table(pair, "treated", ["age", "sex", "previous_cases"], pairs),
        "matched_difference": matching.matched_difference(pair, pairs, "reentered"),
        "bootstrap": matching.bootstrap_pairs(pair, pairs, "reentered", reps=200, seed=7),
        "selected": pair[keep].reset_index(drop=True),
    }


def _sentencing_chapter(con) -> dict[str, Any]:
    frame = sentencing.sentencing_frame(con, key=ESTIMATED)
    fit = sentencing.fit_logit(frame, sentencing.formula())
    return {
        "sentencing_frame": frame,
        "sentencing_frame truth": sentencing.sentencing_frame(con, key=TRUTH),
        "logit": sentencing.tidy(fit),
    }


def _soc_chapter(con) -> dict[str, Any]:
    criteria = soc.SocCriteria()
    soc.build_soc_frame(con, criteria, key=ESTIMATED)
    frame = con.execute("SELECT * FROM soc_frame ORDER BY row_id_hash").df()
    reentries = soc.reentry(con, "soc_frame", key=ESTIMATED, follow_up_days=730)
    return {
        "criteria_counts": soc.criteria_counts(con, criteria),
        "soc_shares": soc.soc_shares(con),
        "soc_frame": frame,
        "reentry": reentries,
        "compare_outcomes": soc.compare_outcomes(frame, reentries),
    }


def _family_civil_chapter(con) -> dict[str, Any]:
    build_timeline(con, ESTIMATED, table="fc_timeline")
    roles.build_parties(con, ESTIMATED, timeline="fc_timeline")
    return {
        "missingness_by_role": roles.missingness_by_role(con),
        "criminal_link_quality": roles.criminal_link_quality(con),
        "cases_per_person": roles.cases_per_person(con),
        "role_combinations": roles.role_combinations(con),
        "criminal_overlap": roles.criminal_overlap(con, timeline="fc_timeline"),
        "years_from_case_to_criminal": roles.years_from_case_to_criminal(con, timeline="fc_timeline", court="family"),
    }


def _calibration(con) -> dict[str, Any]:
    """Synthetic data and education and offending: every calibration figure (what `sdfirst synth --report` shows)."""
    return {name: float(metric(con)) for name, metric in sorted(METRICS.items())}


CHAPTERS: dict[str, Callable[[Any, Path], dict[str, Any]]] = {
    "linkage": _linkage_chapters,
    "timelines": lambda con, _folder: _timeline_chapters(con),
    "pathways": lambda con, _folder: _pathways_chapter(con),
    "reentry": lambda con, _folder: _reentry_chapter(con),
    "policy": lambda con, _folder: _policy_chapter(con),
    "sentencing": lambda con, _folder: _sentencing_chapter(con),
    "soc": lambda con, _folder: _soc_chapter(con),
    "family_civil": lambda con, _folder: _family_civil_chapter(con),
    "calibration": lambda con, _folder: _calibration(con),
}


def _assert_same(name: str, a: Any, b: Any) -> None:
    """Exactly equal: frames and series value for value and in the same row order; floats to the last bit."""
    assert type(a) is type(b), name
    if isinstance(a, pd.DataFrame):
        assert_frame_equal(a, b, check_exact=True, obj=name)
    elif isinstance(a, pd.Series):
        assert_series_equal(a, b, check_exact=True, obj=name)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), name
        for key in a:
            _assert_same(f"{name}[{key!r}]", a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), name
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(f"{name}[{i}]", x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), name
    else:
        assert a == b, f"{name}: {a!r} at one thread, {b!r} at two"


def _non_empty(name: str, value: Any) -> None:
    if isinstance(value, pd.DataFrame | pd.Series):
        assert len(value) > 0, f"{name} is empty: the comparison would prove nothing"


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_chapter_results_are_the_same_at_one_and_two_threads(linked, chapter):
    folder = linked["folder"]
    results = []
    for threads in (1, 2):
        con = sdfirst.connect(folder, threads=threads, view="identified")  # as the linkage chapters open it
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == threads
        results.append(CHAPTERS[chapter](con, folder))
        con.close()
    for name, value in results[0].items():
        _non_empty(name, value)
    _assert_same(chapter, results[0], results[1])


def test_connect_refuses_a_bad_thread_count(linked):
    from sdfirst.exceptions import DataFirstError

    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(DataFirstError, match="threads"):
            sdfirst.connect(linked["folder"], threads=bad)
