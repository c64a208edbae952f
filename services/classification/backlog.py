"""How long demands wait in the triage queue, per urgency, for GET /metrics.

A background loop counts the pending items and finds the oldest of each urgency every
`interval_s`; a scrape serves the last measurement and never waits on PostgreSQL. The age is
taken at scrape time from that oldest item's arrival, so it keeps growing between measurements.
Every urgency is always exported (0 when none waits), so an alert on a critical demand's wait
never sees a missing series."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from contracts.events import Urgency
from services.classification import repository
from services.runtime.clock import Clock
from services.runtime.db import SessionFactory

log = structlog.get_logger(__name__)
_KNOWN = frozenset(u.value for u in Urgency)


@dataclass(frozen=True, slots=True)
class Waiting:
    count: int
    oldest: datetime


class TriageBacklog(Collector):
    def __init__(self, *, sessions: SessionFactory, clock: Clock, interval_s: float) -> None:
        self.sessions = sessions
        self.clock = clock
        self.interval_s = interval_s
        self.waiting: dict[Urgency, Waiting] = {}
        self.measured_at: datetime | None = None

    async def measure(self) -> None:
        async with self.sessions() as session:
            rows = await repository.pending_by_urgency(session)
        waiting: dict[Urgency, Waiting] = {}
        for row in rows:
            count, oldest = row.count, row.oldest
            # A value the code does not know (none is written) counts as normal.
            key = Urgency(row.urgency) if row.urgency in _KNOWN else Urgency.normal
            earlier = waiting.get(key)
            if earlier is not None:
                count, oldest = count + earlier.count, min(oldest, earlier.oldest)
            waiting[key] = Waiting(count, oldest)
        self.waiting = waiting
        self.measured_at = self.clock.now()

    async def run(self, stop: asyncio.Event) -> None:
        """Measure until stopped; a failed measurement keeps the previous one."""
        while not stop.is_set():
            try:
                await self.measure()
            except Exception as exc:
                log.warning("triage backlog not measured", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)

    def collect(self) -> Iterator[Metric]:
        pending = GaugeMetricFamily(
            "liandong_triage_pending",
            "Demands waiting in the triage queue for an operator, by urgency (last measurement)",
            labels=["urgency"],
        )
        oldest = GaugeMetricFamily(
            "liandong_triage_oldest_age_seconds",
            "How long the oldest demand of each urgency has waited in the triage queue "
            "(0: none waits)",
            labels=["urgency"],
        )
        now = self.clock.now()
        for urgency in Urgency:
            waiting = self.waiting.get(urgency)
            pending.add_metric([urgency.value], waiting.count if waiting else 0)
            age = max((now - waiting.oldest).total_seconds(), 0.0) if waiting else 0.0
            oldest.add_metric([urgency.value], age)
        yield pending
        yield oldest
        yield GaugeMetricFamily(
            "liandong_triage_backlog_timestamp_seconds",
            "When the triage queue was last measured (0: not yet)",
            value=self.measured_at.timestamp() if self.measured_at else 0,
        )
