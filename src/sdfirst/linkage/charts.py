"""Splink's own charts and dashboards in the offline book, and the match-weight arithmetic behind them.

Splink draws its charts with Vega-Lite. In a notebook its charts load vega, vega-lite and vega-embed from a CDN,
and its two dashboards (the comparison viewer and cluster studio) inline the same libraries but link a web font.
The course must work with no internet (secure research environments have none), so this module:

- copies the JavaScript that Splink ships inside its package (`splink/internals/files/external_js`) into the
  book's extra files (`book/_extra/splink`, which Sphinx copies to `_build/html/splink`), once per build;
- shows a Splink chart as a fragment of HTML that loads those local copies (`show`), keeping Splink's own
  Vega-Lite spec (`chart.chart_dict`) untouched;
- rewrites a dashboard that Splink wrote into the same folder (`dashboard_path`) without its web-font links and
  with a banner saying the records are synthetic (`make_dashboard_offline`), to be embedded in a page with an
  iframe (`frame`).

`match_weights_table` is the one table Splink has no public function for: every comparison level's m, u, Bayes
factor and match weight, in the order of the model, for reading the numbers that the charts draw.
"""

from __future__ import annotations

import html
import json
import math
import re
import shutil
from collections.abc import Mapping
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd

from sdfirst.book import repository_root

#: The folder, under the book's extra files and so under the root of the built site, that holds Splink's assets.
ASSET_FOLDER = "splink"
#: How a chapter page (in _build/html/book/) reaches that folder.
PAGE_TO_ASSETS = f"../{ASSET_FOLDER}/"
#: The chart libraries, in the order they must load (vega-lite needs vega; vega-embed needs both).
LIBRARIES = ("vega", "vega-lite", "vega-embed")
SYNTHETIC_BANNER = (
    '<div style="font-family:sans-serif;background:#fff3cd;border:1px solid #e0c36c;padding:6px 10px;'
    'margin:0 0 8px 0">Synthetic data: every record in this dashboard was made up by the sdfirst generator. '
    "None describes a real person.</div>"
)
# The dashboards' only requests off the machine: Google Fonts (the page falls back to the browser's sans-serif).
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=\"https?://[^\"]*\"[^>]*>\s*", re.IGNORECASE)


def asset_folder(root: str | Path | None = None) -> Path:
    """`book/_extra/splink` of the repository (found from `root`, or the working directory)."""
    return repository_root(root) / "book" / "_extra" / ASSET_FOLDER


def _shipped_library(name: str) -> Path:
    """Splink's packaged copy of one chart library, e.g. `external_js/vega-lite@5.2.0` (exactly one version)."""
    folder = files("splink") / "internals" / "files" / "external_js"
    found = sorted(Path(str(p)) for p in folder.iterdir() if p.name.startswith(f"{name}@"))
    if len(found) != 1:
        raise RuntimeError(f"expected one {name}@<version> in {folder}, found {[p.name for p in found]}")
    return found[0]


def publish_assets(folder: str | Path | None = None) -> list[Path]:
    """Copy vega, vega-lite and vega-embed from the installed Splink into `folder` (default `asset_folder()`).

    The files are named `<library>.js`, so that a page can load them without knowing Splink's versions; copying
    from the installed package keeps the JavaScript and the charts' specs from the same Splink release.
    """
    target = Path(folder) if folder is not None else asset_folder()
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in LIBRARIES:
        destination = target / f"{name}.js"
        shutil.copyfile(_shipped_library(name), destination)
        written.append(destination)
    return written


def _json_value(value: Any) -> Any:
    """JSON for what a chart's data may hold besides plain types: DuckDB's Decimal bins, and dates of records."""
    return float(value) if isinstance(value, Decimal) else str(value)


class OfflineChart:
    """A Splink chart that a notebook shows with the chart libraries of the book's own files.

    Its HTML is a `<div>` and a script that loads `vega.js`, `vega-lite.js` and `vega-embed.js` from `base` (once
    per page, however many charts it has) and embeds Splink's spec, unchanged, as SVG. Nothing is fetched from
    another host.
    """

    def __init__(self, chart: Any, base: str = PAGE_TO_ASSETS, name: str = "chart"):
        self.spec = chart.chart_dict if hasattr(chart, "chart_dict") else dict(chart)
        self.base = base
        self.name = re.sub(r"[^a-z0-9-]", "-", name.lower())

    def __repr__(self) -> str:  # the text a notebook stores beside the HTML: stable, so that nbval can compare it
        return f"Splink chart {self.name!r} (drawn by vega-embed from {self.base})"

    def _repr_html_(self) -> str:
        div = f"splink-{self.name}"
        spec = json.dumps(self.spec, default=_json_value).replace("<", r"\u003c").replace(">", r"\u003e")
        libraries = json.dumps([f"{self.base}{name}.js" for name in LIBRARIES])
        # a chart wider than the page's column (Splink's legends sit to the right) scrolls instead of running under the
        # page's table of contents
        return f"""<div id="{div}" class="splink-chart" data-chart="{html.escape(self.name)}"
     style="overflow-x: auto; max-width: 100%"></div>
<script>
(function () {{
  const target = document.getElementById("{div}");
  const loads = window.__sdfirstChartLoads || (window.__sdfirstChartLoads = {{}});
  function load(url) {{
    if (!loads[url]) {{
      loads[url] = new Promise(function (resolve, reject) {{
        const s = document.createElement("script");
        s.src = url; s.onload = resolve;
        s.onerror = function () {{ reject(new Error("cannot load " + url)); }};
        document.head.appendChild(s);
      }});
    }}
    return loads[url];
  }}
  {libraries}.reduce(function (p, url) {{ return p.then(function () {{ return load(url); }}); }}, Promise.resolve())
    .then(function () {{
      return vegaEmbed(target, {spec}, {{renderer: "svg", actions: {{export: true, source: false, compiled: false,
                                                                    editor: false}}}});
    }})
    .catch(function (err) {{
      target.textContent = "Chart error: " + err.message + ". The chart is drawn in the built book, which serves " +
        "vega from its own files; in Jupyter, save it with chart.save_offline_chart('chart.html') and open that file.";
      console.error(err);
    }});
}})();
</script>"""


def show(chart: Any, name: str = "chart") -> OfflineChart:
    """Splink's chart (any `SplinkChart`, or a Vega-Lite spec as a dict), to display in the offline book.

    `name` labels the chart's element (`data-chart`), so that the browser test can find each chart by name.
    """
    return OfflineChart(chart, name=name)


def dashboard_path(filename: str, folder: str | Path | None = None) -> Path:
    """Where a dashboard goes in the book's extra files (`asset_folder()`, created if need be), to give to Splink."""
    target = Path(folder) if folder is not None else asset_folder()
    target.mkdir(parents=True, exist_ok=True)
    return target / filename


def make_dashboard_offline(path: str | Path) -> Path:
    """Rewrite, in place, a dashboard that Splink wrote to `path`, so that it opens offline and says it is synthetic.

    The web-font links are removed (the only requests the dashboards make off the machine) and a banner marks the
    records as synthetic. A dashboard that would still load a script or stylesheet from another host is an error,
    and the file is then left as Splink wrote it. Returns the path; a page embeds it with `frame`.
    """
    path = Path(path)
    cleaned = _REMOTE_LINK.sub("", path.read_text(encoding="utf-8"))
    if re.search(r"<(link|script)\b[^>]*\b(href|src)=\"(https?:)?//", cleaned, re.IGNORECASE):
        raise RuntimeError(f"{path.name}: the dashboard still loads a resource from another host")
    cleaned, banners = re.subn(r"(<body[^>]*>)", r"\1" + SYNTHETIC_BANNER, cleaned, count=1)
    if not banners:
        raise RuntimeError(f"{path.name}: no <body> in the dashboard to put the synthetic-data banner in")
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(cleaned, encoding="utf-8")
    partial.replace(path)
    return path


class Frame:
    """An iframe on a dashboard of the book's extra files, with a link to open it full size."""

    def __init__(self, filename: str, height: int, base: str = PAGE_TO_ASSETS):
        self.src = base + filename
        self.height = height

    def __repr__(self) -> str:
        return f"Splink dashboard {self.src}"

    def _repr_html_(self) -> str:
        src = html.escape(self.src)
        return (
            f'<p><a href="{src}">Open the dashboard in its own tab</a></p>'
            f'<iframe src="{src}" class="splink-dashboard" width="100%" height="{self.height}" '
            'style="border:1px solid #ccc"></iframe>'
        )


def frame(filename: str, height: int = 900) -> Frame:
    """Show a dashboard of `dashboard_path` in the page, in an iframe `height` pixels high."""
    return Frame(filename, height)


def probability_to_weight(probability: float) -> float:
    """The match weight log2(p / (1 - p)) of a probability: how Splink puts the prior on the same scale as evidence."""
    return math.log2(probability / (1 - probability))


def weight_to_probability(weight: float) -> float:
    """The match probability 2^w / (1 + 2^w) of a match weight (written to avoid overflow at large |w|)."""
    if weight >= 0:
        return 1 / (1 + 2.0**-weight)
    return 2.0**weight / (1 + 2.0**weight)


def match_weights_table(model: Mapping[str, Any]) -> pd.DataFrame:
    """One row per comparison level of a Splink model (as from `linker.misc.save_model_to_json()`), in model order.

    Columns: comparison, level (Splink's label), gamma (the comparison vector value Splink gives the level in its
    `gamma_` columns: -1 for the null level, then counting down to 0 for the last), m_probability, u_probability,
    bayes_factor (m / u), match_weight (log2 of it) and tf_adjustment_column (the column whose term frequencies
    adjust the level's weight, or None). Null levels are kept, with a Bayes factor of 1 and a weight of 0, because a
    missing value is no evidence either way.
    """
    rows = []
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        gamma = sum(not level.get("is_null_level", False) for level in levels) - 1
        for level in levels:
            is_null = level.get("is_null_level", False)
            m, u = level.get("m_probability"), level.get("u_probability")
            if is_null:
                bayes_factor = 1.0
            elif m is None or u is None or u == 0:
                bayes_factor = math.nan
            else:
                bayes_factor = m / u
            rows.append(
                {
                    "comparison": comparison["output_column_name"],
                    "level": level["label_for_charts"],
                    "gamma": -1 if is_null else gamma,
                    "m_probability": math.nan if m is None else float(m),
                    "u_probability": math.nan if u is None else float(u),
                    "bayes_factor": bayes_factor,
                    "match_weight": 0.0 if is_null else (math.log2(bayes_factor) if bayes_factor > 0 else -math.inf),
                    "tf_adjustment_column": level.get("tf_adjustment_column"),
                }
            )
            if not is_null:
                gamma -= 1
    return pd.DataFrame(rows)
