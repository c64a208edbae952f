"""A three-node Apache Kafka cluster (RF 3, min.insync.replicas=2) and intake, classification and
routing running against it, on a database of their own; the figures the failure tests print."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from contracts.lists import load_lists
from contracts.topics import all_topics, is_tasks_topic
from services.runtime.embedded import free_port
from services.runtime.kafka import create_topics
from services.runtime.kafka_clients import wait_for_group_coordinator
from services.runtime.kafka_cluster import MIN_INSYNC_REPLICAS, REPLICATION_FACTOR, KafkaCluster
from services.runtime.launcher import ServiceProcesses, async_url
from services.runtime.migrations import upgrade_all
from tests.conftest import Infra, _create_database

FIGURES: list[str] = []
STREAM_DISTRICT = "330502"  # where the failure tests' demands are


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("three-node Apache Kafka: failure figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="package")
def cluster(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    if infra.broker == "tansu":
        pytest.skip("the cluster tests run Apache Kafka; this run's broker is tansu")
    kafka = KafkaCluster(tmp_path_factory.mktemp("cluster"))
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.stop()


@dataclass(frozen=True)
class Pipeline:
    cluster: KafkaCluster
    database_url: str  # the services' database (async URL)
    intake_url: str
    log_dir: Path


@pytest.fixture(scope="package")
def pipeline(
    infra: Infra, cluster: KafkaCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    database_url = asyncio.run(_create_database(infra.database_url))
    upgrade_all(async_url(database_url))
    # The stream files one complaint in 吴兴区: routing writes to that district's department
    # topics only. All 1,494 of them, three replicas each, would have a node killed with -9
    # recover some 1,600 partitions before it is back (minutes on this machine), which is the
    # topic count's cost, not the failover these tests measure.
    names = [
        name
        for name in all_topics(load_lists())
        if not is_tasks_topic(name) or name.startswith(f"tasks.3305.{STREAM_DISTRICT}.")
    ]
    asyncio.run(
        create_topics(
            cluster.bootstrap_servers,
            names,
            partitions=3,
            replicas=REPLICATION_FACTOR,
            configs={"min.insync.replicas": str(MIN_INSYNC_REPLICAS)},
        )
    )
    asyncio.run(wait_for_group_coordinator(cluster.bootstrap_servers))
    env = {
        **infra.env(),
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
        # the stream files one complaint many times: no merging of duplicates here
        "LIANDONG_ROUTING_DUPLICATE_WINDOW_HOURS": "0",
    }
    log_dir = tmp_path_factory.mktemp("cluster-logs")
    processes = ServiceProcesses(env, log_dir=log_dir)
    try:
        for name in ("intake", "classification", "routing"):
            processes.start(name, port=free_port())
        processes.wait_ready(timeout_s=120)
        yield Pipeline(cluster, async_url(database_url), processes.running["intake"].url, log_dir)
    finally:
        processes.stop()
