"""Every published figure in synthetic/calibration.yaml is reproduced within tolerance at `checked_at_people` on
each of `checked_seeds` (slow); the report gives every figure's standard error at the folder's size and marks those
too noisy to judge; a new figure is one YAML entry and one registered metric."""

from __future__ import annotations

import math
import shutil

import pytest

from sdfirst.calibration import METRICS, Result, Share, metric, report, targets, verdict
from sdfirst.calibration.noise import binomial_error, mode_error, most_common, standard_errors, too_noisy_multiple
from sdfirst.calibration.replicates import Estimate, estimates
from sdfirst.exceptions import DataFirstError
from sdfirst.specs import load_yaml, overridden, read_overrides
from sdfirst.synth import generate

CALIBRATION = load_yaml("calibration.yaml")
SEEDS = CALIBRATION["checked_seeds"]


@pytest.fixture(scope="module", params=SEEDS, ids=lambda seed: f"seed{seed}")
def checked(request, tmp_path_factory):
    """(seed, folder, standard errors) at the checked size: one folder per seed, made once and deleted after."""
    root = tmp_path_factory.mktemp(f"calibration-{request.param}")
    folder = root / "data"
    # one worker: beside the other xdist process, two million-person workers have run out of memory in CI
    generate(folder, people=CALIBRATION["checked_at_people"], seed=request.param, workers=1)
    yield request.param, folder, standard_errors(folder)
    shutil.rmtree(root, ignore_errors=True)


def _line(e: Estimate, seed: int) -> str:
    r = e.result
    away = (r.synthetic - r.published) / e.standard_error if e.standard_error > 0 else math.nan
    return (
        f"seed {seed}, {r.id}: synthetic {r.synthetic:.4g}, published {r.published:g} +- {r.tolerance:g}, "
        f"standard error {e.standard_error:.2g} ({e.method_short}), {away:+.1f} standard errors from published"
    )


@pytest.mark.slow
def test_every_figure_within_tolerance(checked):
    seed, _, found = checked
    assert [e.result.id for e in found] == [t["id"] for t in targets()]  # every figure of the YAML, new ones too
    failing = [_line(e, seed) for e in found if not e.within]
    assert not failing, "\n".join(failing)


@pytest.mark.slow
def test_report_judges_every_figure_at_the_checked_size(checked):
    """At the size the tolerances are set for, no figure is too noisy to judge, and the report says so."""
    seed, folder, found = checked
    text = report(folder, found)
    for e in found:
        assert e.result.figure in text
        assert not e.too_noisy(too_noisy_multiple()), _line(e, seed)
    assert f"{sum(e.within for e in found)} of {len(found)} figures within tolerance" in text
    assert "too noisy" not in text
    assert "tolerances are set for" not in text  # the folder is the size they are set for


def _row(text: str, figure: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(figure))


def test_small_folder_marks_small_group_figures_too_noisy(generated):
    """At 30,000 people the serious violence offenders of the MoJ-DfE cohort number a few dozen: their figures are
    too noisy to judge, shown with their standard errors; the courts' volumes, over everyone, are judged."""
    folder, manifest = generated
    found = {e.result.id: e for e in standard_errors(folder)}
    text = report(folder, list(found.values()))
    multiple = too_noisy_multiple()
    for e in found.values():
        row = _row(text, e.result.figure)
        assert row.endswith(verdict(e, multiple)) and f"{e.standard_error:.2g}" in row
        assert row.endswith("too noisy") == (math.isnan(e.result.synthetic) or e.too_noisy(multiple))
    for small in ("dfe_sv_ks2_maths", "dfe_sv_ks2_english", "dfe_male_sv"):
        assert found[small].method == "binomial" and found[small].result.people < 200
        assert _row(text, found[small].result.figure).endswith("too noisy")
        assert small in text.split("too noisy to judge at", 1)[1]
    assert _row(text, found["mags_volume"].result.figure).endswith(("yes", "NO"))
    assert found["mags_volume"].method_short == "groups/10"
    assert f"too noisy to judge at {manifest['people']:,} people (twice the standard error" in text
    assert "tolerances are set for 1,000,000 people" in text


def test_binomial_errors_agree_with_random_groups(generated):
    """The binomial error assumes people independent: on the shares of many people it agrees with the spread over
    random groups of people. The spread over g groups estimates a standard error to within about 1 / sqrt(2 (g - 1)):
    a quarter at 10 groups, so one figure in twenty or so would stray past a factor of two by chance alone; at 30
    groups it is about an eighth, and a factor of two is four of those."""
    folder, _ = generated
    binomial = {e.result.id: e for e in standard_errors(folder)}
    grouped = {e.result.id: e for e in estimates(folder, groups=30)}
    large = [i for i, e in binomial.items() if e.method == "binomial" and e.result.people >= 300]
    assert len(large) >= 4
    for i in large:
        ratio = grouped[i].standard_error / binomial[i].standard_error
        assert 0.5 < ratio < 2, (i, grouped[i].standard_error, binomial[i].standard_error)
    for e in binomial.values():  # the figures themselves are those of the whole folder either way
        assert e.result == grouped[e.result.id].result


def test_binomial_error_and_the_rule():
    assert binomial_error(50.0, 10_000) == pytest.approx(0.5, rel=0.001)
    assert binomial_error(0.0, 5) > 0  # Agresti-Coull: no share of a handful of people is certain
    assert math.isnan(binomial_error(math.nan, 0))
    result = Result("x", "a figure", 10.0, 10.5, 1.0, "a source")
    assert not Estimate(result, 0.5, 10).too_noisy(2)  # 2 standard errors equal to the tolerance: judged
    assert Estimate(result, 0.51, 10).too_noisy(2)
    assert Estimate(result, math.nan, None, "binomial").too_noisy(2)
    share = Share(12.5, 8)
    assert share == 12.5 and share.people == 8 and round(share, 0) == 12.0
    assert math.isnan(Share(None, 0))


def test_the_most_common_value_settles_a_tie_by_its_middle():
    """SQL's mode may return either of two tied values, and which one can change with the threads: the metric's
    mode is the mean of the tied values, in whatever order the counts arrive, favouring neither."""
    assert most_common([16, 15, 14], [77, 77, 10]) == 15.5
    assert most_common([14, 15, 16], [10, 77, 76]) == 15
    assert most_common([3, 1, 2], [1, 1, 1]) == 2
    assert math.isnan(most_common([], []))


def test_the_bootstrap_error_of_a_mode_follows_its_counts():
    """A peak standing far above its neighbours never moves (error 0); two ages about level swap about half the
    time, one year apart (error near 0.5); the error is the same on every call (seeded draws)."""
    assert mode_error([14, 15, 16], [5, 500, 5]) == 0
    level = mode_error([15, 16], [300, 300])
    assert 0.45 < level < 0.55
    assert mode_error([16, 15], [300, 300]) == level
    assert math.isnan(mode_error([15], [1]))


def test_most_common_ages_carry_their_bootstrap_error(generated):
    """The most common ages are Modal figures: their error is the bootstrap's, not recomputed on random groups,
    whose few dozen people each would overstate it."""
    folder, _ = generated
    found = {e.result.id: e for e in standard_errors(folder)}
    for peak in ("dfe_peak_age_any", "dfe_peak_age_sv"):
        assert found[peak].method_short == "bootstrap" and found[peak].standard_error >= 0
        assert 2 * found[peak].result.synthetic == int(2 * found[peak].result.synthetic)  # whole, or a tie's middle
    assert "by the bootstrap for the most common ages" in report(folder, list(found.values()))


def test_a_new_figure_is_one_yaml_entry_and_one_metric(generated):
    """A target added to calibration.yaml (here by an override) with a metric registered under its name is in
    evaluate, the standard errors and the report with no other change: a share gets a binomial error, a number
    one from random groups."""
    folder, _ = generated

    @metric("test_adults_pct")
    def adults(con) -> Share:
        return Share(
            *con.execute("SELECT 100 * avg((year(date_of_birth) < 1990)::INT), count(*) FROM truth.people").fetchone()
        )

    @metric("test_people_per_case")
    def people_per_case(con) -> float:
        return con.execute(
            "SELECT count(*) / (SELECT count(*) FROM magistrates.case_summary) FROM truth.people"
        ).fetchone()[0]

    new = [
        {
            "id": "test_adults",
            "figure": "Born before 1990 (%)",
            "published": 50,
            "source": "test",
            "tolerance": 50,
            "metric": "test_adults_pct",
        },
        {
            "id": "test_ratio",
            "figure": "People per magistrates' case record",
            "published": 1,
            "source": "test",
            "tolerance": 100,
            "metric": "test_people_per_case",
        },
    ]
    try:
        with overridden(read_overrides({"calibration.yaml": {"targets": [*CALIBRATION["targets"], *new]}})):
            found = {e.result.id: e for e in standard_errors(folder)}
            text = report(folder, list(found.values()))
    finally:
        METRICS.pop("test_adults_pct")
        METRICS.pop("test_people_per_case")
    assert found["test_adults"].method == "binomial" and found["test_adults"].standard_error > 0
    assert found["test_ratio"].method_short == "groups/10" and found["test_ratio"].standard_error > 0
    assert _row(text, "Born before 1990 (%)").endswith("yes") and "People per magistrates' case record" in text
    assert [e.result.id for e in found.values()][-2:] == ["test_adults", "test_ratio"]


def test_a_metric_name_registered_twice_is_refused():
    from sdfirst.calibration import courts  # importing a module registers its metrics

    assert METRICS["mags_records_per_1000"] is courts.mags_records_per_1000
    with pytest.raises(DataFirstError, match="registered twice"):
        metric("mags_records_per_1000")(lambda con: 1.0)
    assert METRICS["mags_records_per_1000"] is courts.mags_records_per_1000


def test_figures_of_datasets_not_written_are_not_applicable(tmp_path):
    folder = tmp_path / "courts"
    generate(folder, people=2_000, seed=3, datasets="magistrates,crown_court")
    found = standard_errors(folder)
    text = report(folder, found)
    for e in found:
        if e.result.id.startswith(("dfe_", "ons_", "cla_")):
            assert not e.result.available and _row(text, e.result.figure).endswith("n/a")
        else:
            assert e.result.available
