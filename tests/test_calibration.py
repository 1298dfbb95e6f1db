"""Every published figure in synthetic/calibration.yaml is reproduced within tolerance at 1 million people
(smaller runs leave too few serious violence offenders in the MoJ-DfE cohort for its figures to be stable)."""

from __future__ import annotations

import pytest

from sdfirst.calibration import evaluate, report
from sdfirst.specs import load_yaml
from sdfirst.synth import generate


@pytest.fixture(scope="module")
def moderate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibration") / "data"
    generate(folder, people=load_yaml("calibration.yaml")["checked_at_people"], seed=42, workers=2)
    return folder


@pytest.mark.slow
def test_every_target_within_tolerance(moderate):
    results = evaluate(moderate)
    failing = [f"{r.id}: published {r.published}, synthetic {r.synthetic:.3g}" for r in results if not r.within]
    assert not failing, "\n".join(failing)


@pytest.mark.slow
def test_report_shows_every_target(moderate):
    results = evaluate(moderate)
    text = report(moderate)
    for r in results:
        assert r.figure in text
    within = sum(r.within for r in results)
    assert f"{within} of {len(results)} figures within tolerance" in text
    assert "noisy" not in text  # checked at the size the targets are set for


def test_report_warns_about_small_folders(generated):
    folder, _ = generated
    assert "noisy at this size" in report(folder)
