# make run   - the local demo: a real Kafka broker, a worker, the reference runner, demo jobs
# make demo-connect - the same on the real engine: PostgreSQL, Kafka Connect, FerretDB, a sample shop
# make test  - install everything, lint, then unit and integration tests against a real broker
# make chaos - the full chaos suite; make bench - the benchmark suite
# make clean - remove the virtualenv, the broker's data and jar cache, and test caches
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JARS := .local/kafka/lib/.complete
FERRETDB := .local/ferretdb/ferretdb-v1.24.2-syncctl2
CONNECT_JARS := .local/connect/plugins/mongodb/.complete
PYTEST_ARGS ?=

.PHONY: run demo-connect test lint unit chaos bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Fetch the broker's jars once, before any test needs them.
$(JARS): config/kafka/pom.xml | $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from syncctl.local.jars import ensure_jars; ensure_jars(Path('.local/kafka/lib'))"

# Build FerretDB (the local MongoDB-wire destination) once, before any test needs it.
$(FERRETDB): | $(STAMP)
	$(BIN)/python -c "from syncctl.local import ensure_ferretdb; ensure_ferretdb()"

# Kafka Connect and its two connectors' jars, once (the engine's tests start a worker).
$(CONNECT_JARS): config/connect/runtime/pom.xml config/connect/debezium-postgres/pom.xml config/connect/mongodb/pom.xml | $(STAMP)
	$(BIN)/python -c "from syncctl.local.connect import ensure_connect_jars; ensure_connect_jars()"

run: $(STAMP)
	$(BIN)/syncctl demo

# The demo on the real stack: PostgreSQL, Kafka Connect (Debezium, MongoDB sink), FerretDB.
demo-connect: $(STAMP) $(JARS) $(FERRETDB) $(CONNECT_JARS)
	$(BIN)/syncctl demo --engine connect

test: lint $(STAMP) $(JARS) $(FERRETDB) $(CONNECT_JARS)
	$(BIN)/pytest tests -m "not stress" $(PYTEST_ARGS)

# Lint and formatting (ruff, pinned in the dev extra): part of `make test`.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# The full chaos runs: 2,000 jobs, 12 worker kills, a paused and a killed broker (<= 5 min);
# then the engine's: real jobs while the engine, Connect, FerretDB and PostgreSQL die (~6 min).
# SYNCCTL_CHAOS_SEED=N reproduces a run; `make test` includes a shorter one of the first.
chaos: $(STAMP) $(JARS) $(FERRETDB) $(CONNECT_JARS)
	SYNCCTL_CHAOS=full $(BIN)/pytest tests/chaos -s $(PYTEST_ARGS)
	@# Tests marked `stress`, when there are any: pytest's exit 5 means none is marked today.
	$(BIN)/pytest -m stress tests $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Benchmarks: bench/results/<date>.json and .png (see docs/performance.md).
bench: $(STAMP) $(JARS) $(FERRETDB) $(CONNECT_JARS)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .local .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
