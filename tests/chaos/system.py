"""The system under `make chaos`: embedded PostgreSQL and Apache Kafka, the four services, a
second routing process and the escalator, each its own process, and the faults done to them as
an orchestrator or an operator would see them (a crash, a restart, a pause)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from contracts.lists import load_lists
from contracts.topics import all_topics
from services.runtime.apache_kafka import BrokerUnavailable, EmbeddedApacheKafka
from services.runtime.embedded import EmbeddedPostgres, free_port
from services.runtime.kafka import create_topics
from services.runtime.launcher import ServiceProcesses, async_url
from services.runtime.migrations import SERVICES, upgrade_all

SECRET = "chaos-secret-" + "x" * 20
# What runs: the four services, a second routing process (its consumer group shares the
# partitions, so a pause or a crash of one moves them to the other) and the escalator; routing's
# own sweepers and the escalator's claim the same timers.
PROCESSES = (*SERVICES, "routing-1", "escalator")


@dataclass
class ChaosSystem:
    """Everything the run starts, and how to hurt it. `restart_delay_s` is the orchestrator's
    pause between a crash and the new process."""

    state_dir: Path
    restart_delay_s: float = 2.0
    postgres: EmbeddedPostgres = field(init=False)
    kafka: EmbeddedApacheKafka = field(init=False)
    processes: ServiceProcesses = field(init=False)
    ports: dict[str, int] = field(default_factory=dict)
    database_url: str = ""
    bootstrap: str = ""

    def start(self) -> None:
        # Durable, as `make run` and production: with the tests' synchronous_commit=off an
        # immediate restart loses commits a service already answered for (and whose Kafka
        # offsets it committed): the first chaos runs found status updates lost that way.
        self.postgres = EmbeddedPostgres(self.state_dir / "pgdata", durable=True)
        self.database_url = self.postgres.start()
        self.kafka = EmbeddedApacheKafka(self.state_dir / "kafka")
        self.bootstrap = self.kafka.start()
        upgrade_all(async_url(self.database_url))
        names = all_topics(load_lists())
        asyncio.run(create_topics(self.bootstrap, names, partitions=3))
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "LIANDONG_AUTH_SECRET": SECRET,
            "LIANDONG_API_KEYS_FILE": str(self.state_dir / "api-keys.json"),
            "LIANDONG_LOG_LEVEL": "INFO",
            # Every accepted demand gets its own lead task: a duplicate merged into an open
            # task is a right outcome too, but one the count of lead tasks cannot tell apart.
            "LIANDONG_ROUTING_DUPLICATE_WINDOW_HOURS": "0",
        }
        self.processes = ServiceProcesses(env, log_dir=self.state_dir / "logs")
        for name in PROCESSES:
            self.ports[name] = free_port()
            self._spawn(name)
        self.processes.wait_ready(timeout_s=180)

    def _spawn(self, name: str) -> None:
        service, _, replica = name.partition("-")
        self.processes.start(service, port=self.ports[name], replica=int(replica or 0))

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def pid(self, name: str) -> int:
        return self.processes.running[name].process.pid

    # The faults. Each returns when the thing it hurt is back (or was asked to come back).

    def kill_and_restart(self, name: str) -> None:
        """kill -9, then a new process after the orchestrator's delay."""
        self.processes.kill(name)
        time.sleep(self.restart_delay_s)
        self._spawn(name)
        self.processes.wait_ready(timeout_s=180)

    def restart_postgres(self, mode: str) -> None:
        """`pg_ctl restart -m fast|immediate`: every connection of every service breaks; with
        immediate the server recovers from its WAL as after a crash."""
        data = str(self.postgres.data_dir)
        options = f"-c listen_addresses=127.0.0.1 -c port={self.postgres.port} "
        options += "-c unix_socket_directories=''"
        self.postgres._run(
            "pg_ctl", "-D", data, "-l", f"{data}/server.log", "-m", mode, "-w", "-t", "120",
            "-o", options, "restart",
        )  # fmt: skip

    def restart_broker(self, how: signal.Signals) -> None:
        """SIGTERM (a controlled shutdown) or SIGKILL of the broker's JVM, then the same node
        on the same log directory and ports."""
        node = self.kafka.node
        assert node is not None
        if how is signal.SIGKILL:
            node.kill()
        else:
            node.stop(timeout_s=60)
        time.sleep(self.restart_delay_s)
        # A start that does not answer within its 2 min (a JVM starved on a loaded machine) is
        # stopped and tried again, as an orchestrator would; the third failure fails the fault.
        for attempt in range(3):
            try:
                bootstrap = self.kafka.start()
                break
            except BrokerUnavailable:
                if attempt == 2:
                    raise
        if bootstrap != self.bootstrap:
            raise RuntimeError(f"the broker came back elsewhere than {self.bootstrap}")

    def pause(self, name: str, seconds: float) -> None:
        """SIGSTOP for `seconds` (past the consumer session timeout: the group drops it and
        gives its partitions to the other process), then SIGCONT: it wakes as a zombie whose
        batch in hand another process may have handled already."""
        pid = self.pid(name)
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(pid, signal.SIGCONT)

    def dead(self) -> list[str]:
        return [
            f"{name} exited with {p.process.returncode}"
            for name, p in self.processes.running.items()
            if p.process.poll() is not None
        ]

    def stop(self) -> None:
        processes = getattr(self, "processes", None)
        if processes is not None:
            for each in processes.running.values():
                if each.process.poll() is None:
                    os.kill(each.process.pid, signal.SIGCONT)  # a paused one cannot stop
            processes.stop()
        if hasattr(self, "kafka"):
            self.kafka.stop()
        if hasattr(self, "postgres"):
            self.postgres.stop()
