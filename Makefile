# Liandong — every target builds .venv first; `make help` lists them.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
# Both locks: every platform's files of each pinned version, with their hashes (docs/supply-chain.md).
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --no-header --quiet

.DEFAULT_GOAL := help
MODEL  := services/classification/artifacts/category-model.pkl.gz
ROUTING_MODEL := services/classification/artifacts/routing-model.pkl.gz
REPLIES := services/classification/training/messages_with_replies.csv

.PHONY: help install lock audit kafka kafka-cluster test-tansu test-kafka-cluster model eval-classifier eval-exits cv-classifier bench-classifier eval-routing run test test-unit test-browser test-contract test-integration test-e2e fuzz fuzz-short chaos chaos-short validate-deploy lint fmt contracts bench bench-routing bench-escalation bench-console clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-17s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed ## Create .venv with the pinned dependencies (requirements.lock, every file checked against its hash)

lock: install ## Rewrite both hashed locks from pyproject.toml, keeping every pinned version (UPGRADE="--upgrade-package NAME" moves one)
	printf 'setuptools\n' | $(BIN)/uv pip compile pyproject.toml - --extra dev --extra embedded $(LOCK_FLAGS) $(UPGRADE) -o requirements.lock
	printf 'setuptools\n' | $(BIN)/uv pip compile pyproject.toml - $(LOCK_FLAGS) --constraint requirements.lock -o requirements-image.lock

audit: install ## pip-audit: known vulnerabilities in every locked package (skips, saying so, only when the vulnerability service cannot be reached)
	$(PY) -m tests.audit

kafka: install ## Fetch the Apache Kafka broker of deploy/kafka/pom.xml with Maven into .liandong/kafka/libs and check it starts
	$(PY) -m services.runtime.apache_kafka

kafka-cluster: kafka ## A three-node Apache Kafka KRaft cluster on loopback (RF 3, min.insync.replicas=2) until Ctrl-C
	$(PY) -m services.runtime.kafka_cluster

$(MODEL): $(VENV)/.installed services/classification/training/messages_labelled.csv $(wildcard services/classification/training/operator-*.csv) services/classification/category_model.py
	$(BIN)/liandong model train

$(ROUTING_MODEL): $(MODEL) $(REPLIES) $(wildcard services/classification/training/dispatch-*.csv) services/classification/replies.py services/classification/routing_model.py services/classification/routing_training.py
	$(BIN)/liandong model train-routing

model: $(MODEL) $(ROUTING_MODEL) ## Train the category model (labelled messages, operator decisions; about 60 s), then the department-type model (replies, operator decisions, reassignments and rulings)

eval-classifier: install ## Train on a split, print held-out accuracy, macro-F1, top-3, triage share, unit resolution
	$(BIN)/liandong model eval

cv-classifier: install ## 5-fold GroupKFold on the training part only: choose changes by this, not by the held-out split
	$(BIN)/liandong model cv

eval-routing: $(MODEL) ## Department type against the bodies that answered the real replies (held-out part): coverage, accuracy, baseline
	$(BIN)/liandong model eval-routing

eval-exits: $(MODEL) $(ROUTING_MODEL) ## Of the labelled messages sent to triage, the share with no exit available (must be 0)
	$(BIN)/liandong model eval-exits

bench-classifier: $(MODEL) ## Demands per second per core of the whole classification step, and model load time
	$(BIN)/liandong model bench

run: $(MODEL) $(ROUTING_MODEL) ## The whole system on embedded PostgreSQL and Kafka (or DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS)
	$(BIN)/liandong run

test: $(MODEL) $(ROUTING_MODEL) kafka ## Every test but the slow cluster scenarios: unit, contract, integration, end-to-end, browser, deployment, on Apache Kafka
	LIANDONG_BROKER=kafka $(BIN)/pytest -m "not slow"

test-tansu: $(MODEL) $(ROUTING_MODEL) ## Integration and end-to-end smoke on the tansu fallback broker
	LIANDONG_BROKER=tansu $(BIN)/pytest -m "not real_kafka" tests/integration tests/e2e/test_demand_to_closed.py tests/e2e/test_redelivery.py

test-kafka-cluster: $(MODEL) kafka ## Failure tests on a three-node Apache Kafka cluster (kill -9 of leaders and the controller)
	LIANDONG_BROKER=kafka $(BIN)/pytest -m kafka_cluster tests/cluster

test-unit: install ## Domain rules with no infrastructure
	$(BIN)/pytest tests/unit

test-contract: install ## Committed JSON Schemas match contracts/
	$(BIN)/pytest tests/contract

test-integration: $(MODEL) $(ROUTING_MODEL) kafka ## Outbox, inbox, consumer loop and crash recovery on real PostgreSQL and Kafka
	$(BIN)/pytest tests/integration

test-e2e: $(MODEL) $(ROUTING_MODEL) kafka ## The four services as processes: HTTP in, topics out
	$(BIN)/pytest tests/e2e

test-browser: $(MODEL) $(ROUTING_MODEL) kafka ## The console's pages in a real browser (Playwright, Debian's chromium) against the running services
	LIANDONG_BROKER=kafka $(BIN)/pytest tests/browser

fuzz: $(MODEL) $(ROUTING_MODEL) kafka ## schemathesis on every service's OpenAPI with each role's credential and none (20 s a run), 300 hostile records on the consumed topics
	$(BIN)/python -m tests.fuzz.api --seconds 20 --records 300

fuzz-short: $(MODEL) $(ROUTING_MODEL) kafka ## The fuzz run CI makes after the tests (4 s a run, about 2 min)
	$(BIN)/python -m tests.fuzz.api --seconds 4 --records 60

chaos: $(MODEL) $(ROUTING_MODEL) kafka ## Real demands at 10/s while every service is killed, PostgreSQL and the broker restart, consumers pause, poison arrives; zero lost, zero twice (docs/reliability.md)
	$(PY) -m tests.chaos.run

chaos-short: $(MODEL) $(ROUTING_MODEL) kafka ## The chaos run CI makes: the same faults, shorter gaps and drain (about 4 min)
	$(PY) -m tests.chaos.run --short

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

bench: $(MODEL) $(ROUTING_MODEL) ## End-to-end latency and throughput of demand -> assigned task (prints figures)
	$(PY) -m tests.bench.pipeline

bench-routing: install ## Routing decisions per second, demand.classified -> lead task published, 1 and 2 routing processes
	$(PY) -m tests.bench.routing --routers 1
	$(PY) -m tests.bench.routing --routers 2

bench-escalation: install ## The sweeper against 1,000,000 open tasks (ARGS="--spread 0 --sweepers 2")
	$(PY) -m tests.bench.escalation $(ARGS)

bench-console: $(MODEL) $(ROUTING_MODEL) kafka ## Server time of every console page for a department with 10,000 tasks and a city with 100,000 demands a month (ARGS="--requests 40")
	$(PY) -m tests.bench.console $(ARGS)

clean: ## Remove .venv and local state (.liandong)
	rm -rf $(VENV) .liandong .pytest_cache .mypy_cache .ruff_cache
