# Liandong — every target builds .venv first; `make help` lists them.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin

.DEFAULT_GOAL := help
MODEL  := services/classification/artifacts/category-model.pkl.gz

.PHONY: help install model eval-classifier cv-classifier bench-classifier run test test-unit test-contract test-integration test-e2e test-browser validate-deploy lint fmt contracts bench bench-routing bench-escalation clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-17s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed ## Create .venv with the pinned dependencies (requirements.lock)

$(MODEL): $(VENV)/.installed services/classification/training/messages_labelled.csv $(wildcard services/classification/training/operator-*.csv) services/classification/category_model.py
	$(BIN)/liandong model train

model: $(MODEL) ## Train the category model on the labelled citizen messages and exported operator decisions (about 60 s)

eval-classifier: install ## Train on a split, print held-out accuracy, macro-F1, top-3, triage share, unit resolution
	$(BIN)/liandong model eval

cv-classifier: install ## 5-fold GroupKFold on the training part only: choose changes by this, not by the held-out split
	$(BIN)/liandong model cv

bench-classifier: $(MODEL) ## Demands per second per core of the whole classification step, and model load time
	$(BIN)/liandong model bench

run: $(MODEL) ## The whole system on embedded PostgreSQL and Kafka (or DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS)
	$(BIN)/liandong run

test: $(MODEL) ## Every test: unit, contract, integration, end-to-end, browser and deployment validation
	$(BIN)/pytest

test-unit: install ## Domain rules with no infrastructure
	$(BIN)/pytest tests/unit

test-contract: install ## Committed JSON Schemas match contracts/
	$(BIN)/pytest tests/contract

test-integration: $(MODEL) ## Outbox, inbox, consumer loop and crash recovery on real PostgreSQL and Kafka
	$(BIN)/pytest tests/integration

test-e2e: $(MODEL) ## The four services as processes: HTTP in, topics out
	$(BIN)/pytest tests/e2e

test-browser: $(MODEL) ## The console's pages in a real browser (Playwright, Debian's chromium) against the running services
	$(BIN)/pytest tests/browser

validate-deploy: install ## Render both k8s overlays; validate every object, the compose file, the AsyncAPI document
	$(BIN)/pytest tests/deploy

lint: install ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

fmt: install ## Format and autofix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

contracts: install ## Write contracts/schemas/*.json from the event models
	$(BIN)/liandong contracts

bench: $(MODEL) ## End-to-end latency and throughput of demand -> assigned task (prints figures)
	$(PY) -m tests.bench.pipeline

bench-routing: install ## Routing decisions per second, demand.classified -> lead task published, 1 and 2 routing processes
	$(PY) -m tests.bench.routing --routers 1
	$(PY) -m tests.bench.routing --routers 2

bench-escalation: install ## The sweeper against 1,000,000 open tasks (ARGS="--spread 0 --sweepers 2")
	$(PY) -m tests.bench.escalation $(ARGS)

clean: ## Remove .venv and local state (.liandong)
	rm -rf $(VENV) .liandong .pytest_cache .mypy_cache .ruff_cache
