"""The built book (_build/html, made by `make book`) in a real browser: offline, clean, searchable, linked.

The tests of the built book are marked `book`: plain `pytest` deselects them; `make test` builds the book first and
runs them (the tests of sdfirst.book at the end are not marked, and always run). A missing build is
a failure, not a skip, so that a CI run cannot pass without having looked at the book.

The browser is a Chromium found by tests/browser.py (Debian's `/usr/bin/chromium`, which `make test` installs as root
on Debian, or the one named by `$SDFIRST_BROWSER`), driven by playwright; playwright never downloads a browser itself.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import browser as browser_finder  # tests/browser.py

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SEARCH_WORD = "linkage"  # in the welcome page, the glossary and both chapters

# Console errors that are not the book's fault, each as (regex on the message, why it is harmless). None so far:
# the thebe and theme-mode errors that Jupyter Book 1 gives by default are fixed in _config.yml instead.
ALLOWED_CONSOLE_ERRORS: list[tuple[str, str]] = []


def _pages() -> list[Path]:
    """Every HTML page of the built book: not the execution reports, nor the theme's template fragments in _static."""
    skip = {"reports", "_static", "_sources", "_images", "mathjax"}
    return sorted(p for p in SITE.rglob("*.html") if not skip & set(p.relative_to(SITE).parts[:-1]))


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"the book is not built: {SITE / 'index.html'} is missing. Run `make book` first.")
    return SITE


@pytest.fixture(scope="module")
def book_url(site: Path) -> Iterator[str]:
    """The built book served over HTTP on 127.0.0.1, on a free port, for the duration of the module."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(site: Path):
    chromium_path = browser_finder.find()
    if chromium_path is None:
        pytest.fail("no Chromium found: run `python tests/browser.py --ensure` (make test does), which says what to do")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Visit:
    """One browser context that records every request off 127.0.0.1, failed requests and console errors."""

    def __init__(self, browser, book_url: str):
        self.book_url = book_url
        self.context = browser.new_context()
        self.external: list[str] = []
        self.failed: list[str] = []
        self.console: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console.append(f"{self.page.url}: uncaught {error}"))
        self.page.on("requestfailed", lambda request: self._failed(request.url, request.failure))
        self.page.on("response", self._response)

    def _route(self, route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1":
            route.continue_()
        else:
            self.external.append(f"{self.page.url} -> {url}")
            route.abort()

    def _console(self, message):
        if message.type != "error":
            return
        text = message.text
        if any(re.fullmatch(pattern, text, flags=re.S) for pattern, _why in ALLOWED_CONSOLE_ERRORS):
            return
        self.console.append(f"{self.page.url}: {text}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self._failed(response.url, response.status)

    def _failed(self, url: str, why) -> None:
        parts = urlsplit(url)
        if parts.hostname == "127.0.0.1":
            self.failed.append(f"{self.page.url} -> {url} ({why})")

    def goto(self, relative: str) -> None:
        self.page.goto(self.book_url + relative, wait_until="networkidle")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, book_url) -> Iterator[Visit]:
    v = Visit(browser, book_url)
    yield v
    v.close()


@pytest.mark.book
def test_every_page_loads_offline_without_errors(site, visit):
    """Every page: no request leaves 127.0.0.1, no local request fails, no console error; maths and charts render."""
    pages = _pages()
    assert len(pages) >= 5, f"too few pages in {site}: {pages}"
    charts, hidden_charts = 0, []
    for page in pages:
        visit.goto(page.relative_to(site).as_posix())
        if visit.page.locator("span.math, div.math").count():
            # MathJax (shipped in _build/html/mathjax) replaces every formula with an mjx-container
            visit.page.wait_for_function(
                "document.querySelectorAll('mjx-container').length >= "
                "document.querySelectorAll('span.math, div.math').length",
                timeout=20_000,
            )
        # open every dropdown (solutions, hidden cells) so that the charts inside them are checked too
        visit.page.evaluate(
            """() => {
                document.querySelectorAll('details').forEach(d => { d.open = true; });
                document.querySelectorAll('.toggle-hidden > .admonition-title').forEach(t => t.click());
            }"""
        )
        images = visit.page.locator("div.cell_output img")
        for i in range(images.count()):
            image = images.nth(i)
            charts += 1
            if image.is_visible():
                image.scroll_into_view_if_needed(timeout=5_000)
            box = image.bounding_box()
            loaded = image.evaluate("img => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0")
            if not (image.is_visible() and box and box["width"] > 0 and box["height"] > 0 and loaded):
                hidden_charts.append(f"{page.relative_to(site)}: {image.get_attribute('src')} (box {box})")
    _assert_clean(visit, ("chart images not shown", hidden_charts))
    assert charts >= 1, "no chart image in any notebook output: the chapters' charts are missing"


# Splink's own charts on the probabilistic-linkage chapter (names given by sdfirst.linkage.charts.show), and its two
# dashboards, written into the book's extra files (book/_extra/splink -> _build/html/splink) by the same notebook.
SPLINK_CHAPTER = "book/probabilistic-linkage.html"
SPLINK_CHARTS = {
    SPLINK_CHAPTER: (
        "blocking", "match-weights", "m-u-parameters", "parameter-estimates", "waterfall", "accuracy", "unlinkables"
    ),
    "book/evaluating-linkage.html": ("threshold-selection", "errors-waterfall"),
}  # fmt: skip
SPLINK_DASHBOARDS = ("splink/comparison_viewer.html", "splink/cluster_studio.html")


# True once some canvas of the page has over a thousand painted pixels (a chart, not an empty frame)
PAINTED_CANVAS = """() => [...document.querySelectorAll('canvas')].some(c => {
    if (!c.width || !c.height) return false;
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
    return painted > 1000;
})"""


def _assert_clean(visit: Visit, *more: tuple[str, list[str]]) -> None:
    """No request left the machine, none failed, no console error (and none of `more`, each a list of findings)."""
    problems = [
        (what, found)
        for what, found in (
            ("requests that left the machine (blocked)", visit.external),
            ("local requests that failed", visit.failed),
            ("console errors", visit.console),
            *more,
        )
        if found
    ]
    assert not problems, "\n".join(f"{what}:\n  " + "\n  ".join(found) for what, found in problems)


@pytest.mark.book
def test_splink_charts_render_offline(site, visit):
    """Each of Splink's charts on the chapter draws an SVG with marks, from the book's own vega files, offline."""
    for library in ("vega", "vega-lite", "vega-embed"):
        assert (site / "splink" / f"{library}.js").is_file(), f"{library}.js is not in the build (book/_extra/splink)"
    for page, names in SPLINK_CHARTS.items():
        visit.goto(page)
        for name in names:
            chart = visit.page.locator(f'div.splink-chart[data-chart="{name}"]')
            assert chart.count() == 1, f"no Splink chart {name!r} on {page}"
            chart.locator("svg").first.wait_for(state="attached", timeout=20_000)
            marks = chart.locator("svg path, svg rect, svg line, svg text").count()
            assert marks > 5, f"the {name} chart on {page} drew an empty SVG ({marks} marks)"
            assert "Chart error" not in chart.inner_text(), chart.inner_text()
    _assert_clean(visit)


@pytest.mark.book
def test_splink_dashboards_render_offline(site, visit):
    """The comparison viewer and cluster studio open on their own and inside the chapter, draw, and stay offline."""
    for relative in SPLINK_DASHBOARDS:
        assert (site / relative).is_file(), f"{relative} is not in the build"
        visit.goto(relative)
        assert "Synthetic data" in visit.page.locator("body").inner_text()[:500], f"{relative}: no synthetic banner"
        visit.page.locator("canvas").first.wait_for(state="attached", timeout=30_000)
        visit.page.wait_for_function(PAINTED_CANVAS, timeout=30_000)  # vega draws the dashboards' charts on a canvas
    visit.goto(SPLINK_CHAPTER)
    frames = visit.page.locator("iframe.splink-dashboard")
    assert frames.count() == len(SPLINK_DASHBOARDS)
    for i in range(frames.count()):
        frames.nth(i).scroll_into_view_if_needed(timeout=5_000)
        inner = frames.nth(i).content_frame
        inner.locator("canvas").first.wait_for(state="attached", timeout=30_000)
    _assert_clean(visit)


MATHJAX_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script defer src="/mathjax/tex-chtml.js"></script></head>
<body><p id="inline">\\(w = \\log_2 \\frac{m}{u}\\)</p>
<div id="display">\\[\\sum_{i=1}^{n} \\gamma_i\\]</div></body></html>"""


@pytest.mark.book
def test_shipped_mathjax_renders_offline(site, visit):
    """The MathJax shipped in the book (with its fonts) typesets TeX with no request off the machine.

    Chapters with maths load it through mathjax_path (checked on every page above); this checks it works even while
    no chapter has maths yet, on a page served from the book's origin.
    """
    assert (site / "mathjax" / "tex-chtml.js").is_file(), "MathJax is not in the build (html_extra_path)"
    visit.context.route(
        "**/__mathjax_check.html", lambda route: route.fulfill(content_type="text/html", body=MATHJAX_PAGE)
    )
    visit.goto("__mathjax_check.html")
    visit.page.wait_for_function("document.querySelectorAll('mjx-container').length === 2", timeout=20_000)
    visit.page.wait_for_load_state("networkidle")
    fonts = visit.page.evaluate("[...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
    assert any(family.startswith("MJXZERO") or family.startswith("MJXTEX") for family in fonts), fonts
    assert not visit.external, visit.external
    assert not visit.failed, visit.failed
    assert not visit.console, visit.console


@pytest.mark.book
def test_search_finds_a_word_of_the_book(visit):
    visit.goto(f"search.html?q={SEARCH_WORD}")
    results = visit.page.locator("ul.search li")
    results.first.wait_for(timeout=20_000)
    assert results.count() >= 1
    assert not visit.external, visit.external


@pytest.mark.book
def test_solution_dropdown_opens_on_click(site, visit):
    page = next((p for p in _pages() if 'class="solution dropdown' in p.read_text(encoding="utf-8")), None)
    assert page is not None, "no page has a solution dropdown ({solution} with :class: dropdown)"
    visit.goto(page.relative_to(site).as_posix())
    solution = visit.page.locator("div.solution.dropdown").first
    body = solution.locator(":scope > section, :scope > :not(.admonition-title)").first
    assert body.is_hidden(), f"the first solution on {page.name} is shown before it is clicked"
    solution.locator(".admonition-title").first.click()
    body.wait_for(state="visible", timeout=5_000)
    assert body.is_visible()


@pytest.mark.book
def test_notebooks_are_downloadable(site):
    """Every notebook chapter has a download link to its .ipynb, and the file is in the build."""
    notebooks = sorted((ROOT / "book").glob("*.ipynb"))
    assert notebooks, "no notebook in book/"
    for notebook in notebooks:
        page = site / "book" / f"{notebook.stem}.html"
        assert page.is_file(), f"{notebook.name} was not built into {page}"
        href = f"../_sources/book/{notebook.name}"
        assert f'href="{href}"' in page.read_text(encoding="utf-8"), f"no download link to {href} on {page.name}"
        assert (site / "_sources" / "book" / notebook.name).is_file()


class _Links(HTMLParser):
    """The ids of a page, and every link or resource it refers to."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("id", "name") if tag == "a" else ("id",):
            if attributes.get(name):
                self.ids.add(attributes[name])
        for name in ("href", "src"):
            if attributes.get(name) is not None:
                self.refs.append((tag, attributes[name]))


@functools.cache
def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.book
def test_no_page_refers_to_remote_resources(site):
    """No script, stylesheet, image or frame is fetched from another host (links to other sites are fine)."""
    remote = [
        f"{page.relative_to(site)}: <{tag}> {ref}"
        for page in _pages()
        for tag, ref in _parse(page).refs
        if tag in ("script", "link", "img", "iframe", "source", "video", "audio", "embed")
        and (urlsplit(ref).scheme in ("http", "https") or ref.startswith("//"))
    ]
    assert not remote, "resources fetched from the internet:\n" + "\n".join(remote)
    # Binder by its addresses, not the bare word: a page may quote DuckDB's "Binder Error" (scaffolding-a-project)
    online_features = (
        "thebe", "launch-buttons", "mybinder", "binderhub", "colab.research", "deepnote", "hypothes.is", "utteranc"
    )  # fmt: skip
    pages_online = [
        f"{page.relative_to(site)}: {word}"
        for page in _pages()
        for word in online_features
        if word in page.read_text(encoding="utf-8").lower()
    ]
    assert not pages_online, "pages with a feature that needs the internet:\n" + "\n".join(pages_online)


@pytest.mark.book
def test_internal_links_and_anchors_resolve(site):
    """Every relative href/src points to a file of the build, and every #anchor to an id on the target page."""
    broken = []
    for page in _pages():
        for tag, ref in _parse(page).refs:
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith("//") or not ref.strip():
                continue  # other sites, mailto:, data:, javascript:
            if parts.path:
                target = (page.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
            else:
                target = page
            where = f"{page.relative_to(site)}: <{tag}> {ref}"
            if not target.is_relative_to(site.resolve()) or not target.is_file():
                broken.append(f"{where} (no such file)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _parse(target).ids:
                broken.append(f"{where} (no id {parts.fragment!r} on {target.relative_to(site.resolve())})")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


# sdfirst.book.data_folder(), which the notebooks call to find the data


def test_data_folder_is_found_from_any_folder_below_the_root(tmp_path):
    from sdfirst.book import data_folder

    (tmp_path / "_config.yml").write_text("title: x\n")
    data = tmp_path / "data" / "synthetic"
    data.mkdir(parents=True)
    (data / "manifest.json").write_text("{}")
    (tmp_path / "book" / "part").mkdir(parents=True)
    assert data_folder(tmp_path / "book" / "part") == data.resolve()
    assert data_folder(tmp_path) == data.resolve()


def test_data_folder_tells_the_reader_to_run_make_data(tmp_path, monkeypatch):
    from sdfirst.book import data_folder
    from sdfirst.exceptions import DataFirstError

    (tmp_path / "_config.yml").write_text("title: x\n")
    (tmp_path / "book").mkdir()
    monkeypatch.chdir(tmp_path / "book")
    with pytest.raises(DataFirstError, match="make data"):
        data_folder()


def test_data_folder_outside_the_repository(tmp_path):
    from sdfirst.book import repository_root
    from sdfirst.exceptions import DataFirstError

    with pytest.raises(DataFirstError, match=r"_config\.yml"):
        repository_root(tmp_path)
