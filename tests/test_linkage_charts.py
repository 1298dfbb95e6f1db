"""sdfirst.linkage.charts: Splink's charts and dashboards served from the book's own files, and the weights table."""

from __future__ import annotations

import json
import math
import re
from importlib.resources import files

import pytest

from sdfirst.linkage.charts import (
    LIBRARIES,
    SYNTHETIC_BANNER,
    dashboard_path,
    frame,
    make_dashboard_offline,
    match_weights_table,
    probability_to_weight,
    publish_assets,
    show,
    weight_to_probability,
)

# A two-comparison model in the shape of Splink's save_model_to_json(), with weights easy to check by hand.
MODEL = {
    "probability_two_random_records_match": 1 / 9,
    "comparisons": [
        {
            "output_column_name": "surname",
            "comparison_levels": [
                {"label_for_charts": "surname is NULL", "is_null_level": True},
                {
                    "label_for_charts": "exact",
                    "m_probability": 0.8,
                    "u_probability": 0.1,
                    "tf_adjustment_column": "surname",
                },
                {"label_for_charts": "close", "m_probability": 0.15, "u_probability": 0.3},  # 1/2
                {"label_for_charts": "else", "m_probability": 0.05, "u_probability": 0.6},
            ],
        },
        {
            "output_column_name": "sex",
            "comparison_levels": [
                {"label_for_charts": "exact", "m_probability": 1.0, "u_probability": 0.5},  # 2 = 2^1
                {"label_for_charts": "else", "m_probability": 0.0, "u_probability": 0.5},
            ],
        },
    ],
}

SPEC = {"mark": "bar", "data": {"values": [{"label": "</script><b>x</b>", "weight": 2.5}]}}


def test_probability_and_weight_are_inverse():
    assert probability_to_weight(0.5) == 0
    assert probability_to_weight(0.8) == pytest.approx(2)  # odds of 4 to 1
    assert weight_to_probability(2) == pytest.approx(0.8)
    assert weight_to_probability(-2) == pytest.approx(0.2)
    for w in (-40.0, -3.3, 0.0, 1.7, 40.0):
        assert probability_to_weight(weight_to_probability(w)) == pytest.approx(w)
    assert weight_to_probability(-5000) == 0.0  # no overflow far out
    assert weight_to_probability(5000) == 1.0


def test_match_weights_table_by_hand():
    table = match_weights_table(MODEL)
    assert list(table["comparison"]) == ["surname"] * 4 + ["sex"] * 2
    # Splink's comparison vector values: null -1, then counting down to 0
    assert list(table["gamma"]) == [-1, 2, 1, 0, 1, 0]
    assert list(table["match_weight"].iloc[:3]) == pytest.approx([0.0, 3.0, -1.0])  # log2(0.8 / 0.1) = 3
    assert table["bayes_factor"].iloc[4] == pytest.approx(2.0)
    assert table["match_weight"].iloc[5] == -math.inf  # never seen among matches: conclusive evidence against
    assert math.isnan(table["m_probability"].iloc[0])  # the null level has no parameters
    assert list(table["tf_adjustment_column"]) == [None, "surname", None, None, None, None]


def test_publish_assets_copies_splinks_own_chart_libraries(tmp_path):
    written = publish_assets(tmp_path / "splink")
    assert [p.name for p in written] == [f"{name}.js" for name in LIBRARIES]
    shipped = files("splink") / "internals" / "files" / "external_js"
    for path, name in zip(written, LIBRARIES, strict=True):
        (original,) = [p for p in shipped.iterdir() if p.name.startswith(f"{name}@")]
        assert path.read_bytes() == original.read_bytes()
        assert len(path.read_bytes()) > 10_000  # a real library, not a stub


def _embedded_spec(fragment: str) -> dict:
    return json.loads(re.search(r"vegaEmbed\(target, (\{.*\}), \{renderer", fragment, re.S).group(1))


def test_chart_loads_local_libraries_only_and_keeps_splinks_spec():
    fragment = show(SPEC, name="Match weights")._repr_html_()
    assert 'data-chart="match-weights"' in fragment
    for name in LIBRARIES:
        assert f'"../splink/{name}.js"' in fragment
    assert "http" not in fragment  # no CDN, no other host
    assert "</script><b>" not in fragment  # the data cannot close the script element
    assert _embedded_spec(fragment) == SPEC
    assert (
        repr(show(SPEC, name="x"))
        == repr(show(SPEC, name="x"))
        == "Splink chart 'x' (drawn by vega-embed from ../splink/)"
    )


def test_chart_takes_a_splink_chart_object():
    class FakeChart:  # a SplinkChart exposes its Vega-Lite spec, data included, as chart_dict
        chart_dict = SPEC

    assert _embedded_spec(show(FakeChart())._repr_html_()) == SPEC


def test_chart_data_with_dates_and_decimals_is_written_as_json():
    import datetime
    from decimal import Decimal

    spec = {"data": {"values": [{"d": datetime.date(2003, 5, 19), "bin": Decimal("0.5")}]}}
    assert _embedded_spec(show(spec)._repr_html_())["data"]["values"] == [{"d": "2003-05-19", "bin": 0.5}]


DASHBOARD = """<!doctype html><html><head>
<link rel="preconnect" href="https://fonts.googleapis.com">
<link href="https://fonts.googleapis.com/css2?family=Source+Sans+Pro&display=swap" rel="stylesheet">
<script>const x = "https://cdn.jsdelivr.net/npm/";</script>
</head><body class="x"><div id="app"></div></body></html>"""


def test_dashboard_loses_its_web_fonts_and_gains_a_synthetic_banner(tmp_path):
    path = dashboard_path("viewer.html", tmp_path / "splink")
    assert path == tmp_path / "splink" / "viewer.html" and path.parent.is_dir()
    path.write_text(DASHBOARD, encoding="utf-8")  # as Splink writes it
    assert make_dashboard_offline(path) == path
    text = path.read_text(encoding="utf-8")
    assert "fonts.googleapis" not in text
    assert '<body class="x">' + SYNTHETIC_BANNER in text
    assert 'const x = "https://cdn.jsdelivr.net/npm/"' in text  # a string inside a script is not a request
    assert '<div id="app">' in text
    assert [p.name for p in path.parent.iterdir()] == ["viewer.html"]  # no partial file left behind


def test_dashboard_that_still_loads_a_remote_script_is_refused(tmp_path):
    remote = DASHBOARD.replace("<body", '<script src="https://cdn.example.org/lib.js"></script><body')
    path = tmp_path / "viewer.html"
    path.write_text(remote, encoding="utf-8")
    with pytest.raises(RuntimeError, match="another host"):
        make_dashboard_offline(path)
    assert path.read_text(encoding="utf-8") == remote  # left as Splink wrote it
    path.write_text("<html><head></head></html>", encoding="utf-8")
    with pytest.raises(RuntimeError, match="body"):
        make_dashboard_offline(path)


def test_frame_embeds_the_dashboard_from_the_book_files():
    html = frame("cluster_studio.html", height=700)._repr_html_()
    assert '<iframe src="../splink/cluster_studio.html"' in html
    assert 'height="700"' in html
    assert 'href="../splink/cluster_studio.html"' in html
