# Set-up and everyday commands. Every target installs what it needs first, so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA := data/synthetic
PEOPLE ?= 100000
SEED ?= 42

.PHONY: install data test test-fast lint benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## data: generate the default synthetic data (100,000 people, seed 42) into data/synthetic
data: $(STAMP)
	$(BIN)/datafirst synth --people $(PEOPLE) --seed $(SEED) --out $(DATA) --overwrite
	$(BIN)/datafirst synth --report $(DATA)

## test: lint and every test, the slow ones included
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -m "slow or not slow" -n 2 --dist loadscope

test-fast: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

benchmark: $(STAMP)
	$(BIN)/python benchmarks/synth_benchmark.py

clean:
	rm -rf $(VENV) data _build .pytest_cache .ruff_cache
