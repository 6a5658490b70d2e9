# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3.11
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
SAMPLE_AS_OF := 2026-11-27
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help install install-dev run test lint format sample serve golden bench faults clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

install: $(UV) ## Create .venv from the committed lockfile (runtime dependencies)
	$(UV) sync --frozen --inexact

install-dev: $(UV) ## Create .venv from the lockfile with the dev extras (pytest, ruff, hypothesis)
	$(UV) sync --frozen --extra dev

run: install ## Run the nightly refresh once on the embedded sample and print the summary
	$(BIN)/leads refresh --as-of $(SAMPLE_AS_OF)

test: install-dev ## Lint, format check and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: install-dev ## ruff check + format check only
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev ## Apply ruff format and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

sample: install ## Regenerate the committed sample in data/sample (deterministic)
	rm -rf data/sample
	$(BIN)/leads sample --out data/sample --seed 42 --parcels 2000 --as-of $(SAMPLE_AS_OF) --daily-days 2

serve: install ## Start a local Prefect server (127.0.0.1:4200) and serve the nightly deployment on its schedule
	$(BIN)/python -m flows.serve

golden: install-dev ## Regenerate the end-to-end golden file (only when the change is understood)
	LEADS_UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_end_to_end.py

bench: install-dev ## Benchmark: 1M-row ingest + county/metro/state tiers + history series -> data/bench/results.{json,md} (BENCH_ARGS="--tiers county")
	$(BIN)/python -m bench.run $(BENCH_ARGS)

faults: install-dev ## Fault table: crash/kill loop, disk full, concurrency, bad deliveries (LEADS_SOAK=1: every point)
	$(BIN)/python -m bench.faults

clean: ## Remove the virtualenvs and generated data (keeps data/sample and data/reference)
	rm -rf $(VENV) $(TOOLS) data/raw data/state data/warehouse data/exports data/.prefect
