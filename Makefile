# Set-up and everyday commands. Every target installs what it needs first, so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA := data/synthetic
PEOPLE ?= 100000
SEED ?= 42

.PHONY: install data book learner-book notebooks test test-fast lint benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,book,spark]"
	touch $(STAMP)

install: $(STAMP)

## data: generate the default synthetic data (100,000 people, seed 42) into data/synthetic, and link it
# (the book's chapters read the linkage output in data/synthetic/linking; they never re-link, as they run in parallel)
data: $(STAMP)
	$(BIN)/sdfirst synth --people $(PEOPLE) --seed $(SEED) --out $(DATA) --overwrite
	$(BIN)/sdfirst synth --report $(DATA)
	$(BIN)/sdfirst link $(DATA) --overwrite

## book: generate the default data, then build the book (every notebook executed) into _build/html
# Java comes first (tests/java.py --ensure): the scaling chapter runs a small linkage on Spark.
# -W -n --keep-going: any warning (a cell error, a broken reference, an undefined term) fails the build; --all
# rebuilds every page, so that a warning is never hidden by an incremental build. Stale pages are removed first.
book: data
	$(BIN)/python tests/java.py --ensure
	rm -rf _build/html
	$(BIN)/jupyter-book build . --all -W -n --keep-going --quiet

## learner-book: the learner edition, every solution removed: the pages into _build/learner/_build/html, and a copy
# of every chapter notebook into _build/learner/notebooks for attendees to run (book/workshop.md). Notebooks are not
# executed: the pages show the committed notebooks' outputs. The two linkage chapters are run once first (their outputs
# discarded) because running them writes the files the pages load: Splink's charts' JavaScript and its two dashboards,
# in book/_extra/splink, which are generated, never committed. The configuration is _config.yml with
# sphinx-exercise's hide_solutions on (sdfirst.learner), written to _build/learner/config (not beside the notebooks,
# which find the data from the nearest _config.yml above them: the repository's).
learner-book: data
	rm -rf _build/learner
	$(BIN)/jupyter execute book/probabilistic-linkage.ipynb book/evaluating-linkage.ipynb
	$(BIN)/python -m sdfirst.learner _build/learner/config/_config.yml --notebooks _build/learner/notebooks
	$(BIN)/jupyter-book build . --path-output _build/learner --config _build/learner/config/_config.yml --all -W -n \
		--keep-going --quiet

## notebooks: re-run the book's notebooks in place on fresh data, after a change to the generator alters the numbers
# (make test compares the notebooks' saved outputs with a new run: review the diff of book/*.ipynb, then commit it)
notebooks: data
	$(BIN)/jupyter execute --inplace book/*.ipynb

## test: lint, build the book, then every test: the slow ones, the notebooks (nbval) and the built book in a browser
# The browser comes first: tests/browser.py finds Chromium, installs Debian's as root on Debian (saying so), or stops
# at once with the one command to run on this platform, so that no build is wasted on a missing browser. Java, for
# Spark (the scaling chapter and the test that links on both engines), is found or installed the same way
# (tests/java.py: Debian's openjdk-17-jre-headless as root), and pyspark comes with the `spark` extra.
test: $(STAMP)
	$(BIN)/python tests/browser.py --ensure
	$(BIN)/python tests/java.py --ensure
	$(BIN)/ruff check src tests benchmarks
	$(MAKE) --no-print-directory book
	$(BIN)/python -m pytest -m "slow or not slow or book" -n 2 --dist loadscope \
		--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg tests book

test-fast: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

benchmark: $(STAMP)
	$(BIN)/python benchmarks/synth_benchmark.py

clean:
	rm -rf $(VENV) data _build .pytest_cache .ruff_cache
