"""A sweep repeated in batches beside the consumer and the relay (intake's redelivery,
feedback's closing of unanswered callbacks): its loop, its readiness and the counter it
exports on GET /metrics, written once."""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import Iterator
from typing import ClassVar, TypedDict

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from services.runtime.backoff import repeat
from services.runtime.clock import Clock
from services.runtime.db import SessionFactory
from services.runtime.outbox import Outbox
from services.runtime.service import Runtime


class SweeperOptions(TypedDict):
    """What every sweeper is built with; a subclass adds its own keywords."""

    sessions: SessionFactory
    outbox: Outbox
    clock: Clock
    interval_s: float
    batch_size: int


class BatchSweeper(Collector):
    """Subclasses say what one sweep does (`sweep_once`, returning how many rows it handled,
    added to `swept_total`) and name their counter; a full batch sweeps again at once."""

    metric: ClassVar[str]  # the counter's name on GET /metrics
    description: ClassVar[str]
    failure: ClassVar[str]  # logged when a sweep fails

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        outbox: Outbox,
        clock: Clock,
        interval_s: float,
        batch_size: int,
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox  # a sweep writes events; notify it after a commit
        self.clock = clock
        self.interval_s = interval_s
        self.batch_size = batch_size
        self.healthy = True  # the readiness check reads it
        self.swept_total = 0  # rows this process swept

    @abstractmethod
    async def sweep_once(self) -> int:
        """One batch; how many rows it handled."""

    async def run(self, stop: asyncio.Event) -> None:
        """Sweeps every interval; after a failure, after a backoff from 1 s: readiness follows
        the database's recovery within seconds."""

        async def attempt() -> bool:
            return await self.sweep_once() >= self.batch_size  # more are due

        await repeat(stop, attempt, interval_s=self.interval_s, owner=self, failure=self.failure)

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(self.metric, self.description, value=self.swept_total)

    def start(self, runtime: Runtime, name: str) -> None:
        """Run beside the service's consumer (its readiness included) and export the counter."""
        runtime.loop(name, self.run, lambda: self.healthy)
        runtime.metrics.register(self)
