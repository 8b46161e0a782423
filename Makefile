# make run   - the local demo: a real Kafka broker, a worker, the reference runner, demo jobs
# make test  - install everything, then unit and integration tests against a real broker
# make clean - remove the virtualenv, the broker's data and jar cache, and test caches
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JARS := .local/kafka/lib/.complete
PYTEST_ARGS ?=

.PHONY: run test unit integration clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Fetch the broker's jars once, before any test needs them.
$(JARS): config/kafka/pom.xml | $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from syncctl.kafka.jars import ensure_jars; ensure_jars(Path('.local/kafka/lib'))"

run: $(STAMP)
	$(BIN)/syncctl demo

test: $(STAMP) $(JARS)
	$(BIN)/pytest tests $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .local .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
