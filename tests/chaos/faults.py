"""The faults of `make chaos`, in the order the run does them, and the poison records it puts on
the consumed topics (each must reach `<topic>.dlq` from every consumer of its topic)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from tests.chaos.system import ChaosSystem
from tests.fuzz.consumers import CONSUMERS, _valid

# How long a paused process stays stopped: past the consumer session timeout (10 s by
# default, LIANDONG_*_CONSUMER_SESSION_TIMEOUT_MS), so its group hands its partitions over.
PAUSE_S = 16.0


@dataclass
class Fault:
    name: str
    inject: Callable[[ChaosSystem], None]
    started_at: datetime | None = None
    took_s: float = 0.0
    error: str | None = None


def _kill(name: str) -> Callable[[ChaosSystem], None]:
    return lambda system: system.kill_and_restart(name)


def _postgres(mode: str) -> Callable[[ChaosSystem], None]:
    return lambda system: system.restart_postgres(mode)


def _broker(how: signal.Signals) -> Callable[[ChaosSystem], None]:
    return lambda system: system.restart_broker(how)


def _pause(name: str) -> Callable[[ChaosSystem], None]:
    return lambda system: system.pause(name, PAUSE_S)


# What `--short` (make chaos-short, CI) leaves out to stay near four minutes on a busy 2-core
# machine: the crashes of the two services whose work the others' cover (a consumer's crash is
# routing's crash; feedback's notifications are checked after every fault), the broker's
# controlled restart (its crash is harder) and the second pause.
LONG_ONLY = {
    "kill -9 classification",
    "kill -9 feedback",
    "broker SIGTERM + start",
    f"SIGSTOP classification {PAUSE_S:.0f} s",
}


def faults(poison: Poison, *, short: bool = False) -> list[Fault]:
    """Every fault once: the crashes, the database and broker restarts, a pause, poison."""
    every = [
        Fault("kill -9 intake", _kill("intake")),
        Fault("kill -9 classification", _kill("classification")),
        Fault("kill -9 routing", _kill("routing")),
        Fault("kill -9 feedback", _kill("feedback")),
        Fault("kill -9 escalator", _kill("escalator")),
        Fault("pg_ctl restart -m fast", _postgres("fast")),
        Fault("pg_ctl restart -m immediate", _postgres("immediate")),
        Fault("broker SIGTERM + start", _broker(signal.SIGTERM)),
        Fault("broker SIGKILL + start", _broker(signal.SIGKILL)),
        Fault(f"SIGSTOP routing-1 {PAUSE_S:.0f} s", _pause("routing-1")),
        Fault(f"SIGSTOP classification {PAUSE_S:.0f} s", _pause("classification")),
        Fault("poison records", lambda system: poison.send(system.bootstrap)),
    ]
    return [f for f in every if not (short and f.name in LONG_ONLY)]


def inject(fault: Fault, system: ChaosSystem) -> None:
    fault.started_at = datetime.now(UTC)
    started = time.monotonic()
    try:
        fault.inject(system)
    except Exception as exc:  # reported in the table and fails the run
        fault.error = f"{type(exc).__name__}: {exc}"
    fault.took_s = time.monotonic() - started


class Poison:
    """Records no consumer can take: a real event's headers over a truncated body, on every
    topic a service consumes. The key names the record in the dead-letter topics."""

    def __init__(self) -> None:
        self.sent: dict[str, str] = {}  # key -> topic

    def send(self, bootstrap: str) -> None:
        asyncio.run(self._send(bootstrap))

    async def _send(self, bootstrap: str) -> None:
        headers, body = _valid()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
        await producer.start()
        try:
            for n, topic in enumerate(sorted(CONSUMERS)):
                key = f"chaos-poison-{n}"
                value = body[: len(body) // 2]  # JSON cut in the middle
                await producer.send_and_wait(topic, value=value, key=key.encode(), headers=headers)
                self.sent[key] = topic
        finally:
            await producer.stop()

    def expected(self) -> dict[str, set[str]]:
        """Key -> the services that must each dead-letter it."""
        return {key: set(CONSUMERS[topic]) for key, topic in self.sent.items()}
