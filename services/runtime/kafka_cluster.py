"""A three-node Apache Kafka KRaft cluster on loopback for failure tests and `make kafka-cluster`:
replication factor 3 and min.insync.replicas=2 as in k8s/overlays/prod (docs/kafka.md)."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import structlog
from aiokafka.admin import AIOKafkaAdminClient

from services.runtime.apache_kafka import (
    BrokerUnavailable,
    KafkaNode,
    Ports,
    _run_async,
    cluster_id,
    find_java,
    resolve,
    wait_answering,
)
from services.runtime.embedded import free_port

log = structlog.get_logger(__name__)

REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2


def _distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


class KafkaCluster:
    """`size` combined broker-and-controller nodes, ids 1..size, each with its own log dir."""

    def __init__(
        self,
        directory: Path,
        *,
        size: int = 3,
        heap: str = "384m",
        config: Mapping[str, str] | None = None,
    ) -> None:
        self.directory = directory.resolve()
        ports = _distinct_ports(2 * size)
        voters = {i + 1: ports[2 * i + 1] for i in range(size)}
        settings = {
            "default.replication.factor": str(REPLICATION_FACTOR),
            "min.insync.replicas": str(MIN_INSYNC_REPLICAS),
            "offsets.topic.replication.factor": str(REPLICATION_FACTOR),
            "transaction.state.log.replication.factor": str(REPLICATION_FACTOR),
            "transaction.state.log.min.isr": str(MIN_INSYNC_REPLICAS),
            "share.coordinator.state.topic.replication.factor": str(REPLICATION_FACTOR),
            "share.coordinator.state.topic.min.isr": str(MIN_INSYNC_REPLICAS),
            # a killed node is fenced, and its partitions get new leaders, after 6 s without a
            # heartbeat instead of 9 s; not lower: a loaded 2-core machine pauses JVMs
            "broker.session.timeout.ms": "6000",
            "broker.heartbeat.interval.ms": "1000",
            **(config or {}),
        }
        self.nodes = {
            node_id: KafkaNode(
                node_id,
                self.directory / f"node-{node_id}",
                ports=Ports(ports[2 * (node_id - 1)], controller),
                voters=voters,
                config=settings,
                heap=heap,
            )
            for node_id, controller in voters.items()
        }
        self.java: Path | None = None
        self.libs: Path | None = None

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes.values())

    @property
    def controllers(self) -> str:
        return ",".join(f"127.0.0.1:{node.ports.controller}" for node in self.nodes.values())

    def start(self, *, timeout_s: float = 180) -> str:
        self.java = find_java()
        self.libs = resolve(java=self.java)
        cluster = cluster_id()
        for node in self.nodes.values():
            node.format(self.java, self.libs, cluster)
        try:
            for node in self.nodes.values():
                node.start(self.java, self.libs)
            wait_answering(list(self.nodes.values()), brokers=len(self.nodes), timeout_s=timeout_s)
        except BaseException:
            self.stop()
            raise
        log.info("kafka cluster started", bootstrap_servers=self.bootstrap_servers)
        return self.bootstrap_servers

    def _started(self) -> tuple[Path, Path]:
        if self.java is None or self.libs is None:
            raise RuntimeError("the cluster was not started")
        return self.java, self.libs

    def kill(self, node_id: int) -> None:
        """SIGKILL one node, as a crash of its machine's process."""
        self.nodes[node_id].kill()

    def restart(self, node_id: int, *, timeout_s: float = 120) -> None:
        """Start a stopped node again on its own log dir and ports; returns once the cluster
        lists every broker again."""
        java, libs = self._started()
        node = self.nodes[node_id]
        node.start(java, libs)
        running = [n for n in self.nodes.values() if n.running()]
        wait_answering(running, brokers=len(self.nodes), timeout_s=timeout_s)

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop(timeout_s=20)

    def leader(self, topic: str, partition: int) -> int:
        """The node that leads a partition now, by the metadata a client sees."""
        leaders = _run_async(self._leaders(topic))
        return leaders[partition]

    def leaders(self, topic: str) -> dict[int, int]:
        return _run_async(self._leaders(topic))

    async def _leaders(self, topic: str) -> dict[int, int]:
        bootstrap = ",".join(n.bootstrap for n in self.nodes.values() if n.running())
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        await admin.start()
        try:
            described = await admin.describe_topics([topic])
        finally:
            await admin.close()
        return {p["partition"]: p["leader"] for p in described[0]["partitions"]}

    def isr(self, topic: str) -> dict[int, list[int]]:
        return _run_async(self._isr(topic))

    async def _isr(self, topic: str) -> dict[int, list[int]]:
        bootstrap = ",".join(n.bootstrap for n in self.nodes.values() if n.running())
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        await admin.start()
        try:
            described = await admin.describe_topics([topic])
        finally:
            await admin.close()
        return {p["partition"]: sorted(p["isr"]) for p in described[0]["partitions"]}

    def active_controller(self) -> int:
        """The KRaft quorum's leader, the active controller, as the quorum tool reports it
        (a client's metadata names a random broker as `controller` in KRaft)."""
        java, libs = self._started()
        controllers = ",".join(
            f"127.0.0.1:{n.ports.controller}" for n in self.nodes.values() if n.running()
        )
        result = subprocess.run(  # noqa: S603 - our java and jars, no shell
            [
                str(java), "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dlog4j2.level=WARN", "-cp", f"{libs}/*",
                "org.apache.kafka.tools.MetadataQuorumCommand",
                "--bootstrap-controller", controllers, "describe", "--status",
            ],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        match = re.search(r"^LeaderId:\s*(\d+)", result.stdout, re.MULTILINE)
        if result.returncode != 0 or match is None:
            raise BrokerUnavailable(f"the quorum tool failed: {result.stderr.strip()[-500:]}")
        return int(match.group(1))


def main() -> int:
    """`make kafka-cluster`: three nodes in the foreground until Ctrl-C."""
    with tempfile.TemporaryDirectory(prefix="liandong-kafka-cluster-") as directory:
        cluster = KafkaCluster(Path(directory))
        print("Liandong: starting a three-node Apache Kafka cluster ...", flush=True)
        try:
            cluster.start()
        except BrokerUnavailable as exc:
            print(f"Liandong: {exc}", file=sys.stderr, flush=True)
            return 1
        try:
            print(
                "Three KRaft nodes (broker and controller each), replication factor "
                f"{REPLICATION_FACTOR}, min.insync.replicas={MIN_INSYNC_REPLICAS}:\n"
                f"  KAFKA_BOOTSTRAP_SERVERS={cluster.bootstrap_servers}\n"
                f"  controllers {cluster.controllers}, active: node {cluster.active_controller()}\n"
                f"  logs under {directory}/node-*/server.log\n"
                "Ctrl-C stops it (and deletes its data).",
                flush=True,
            )
            while all(node.running() for node in cluster.nodes.values()):
                time.sleep(1)
            print("Liandong: a node exited; stopping the cluster.", flush=True)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
