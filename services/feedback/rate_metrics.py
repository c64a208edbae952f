"""The three rates' counters of the current month, city-wide, for GET /metrics.

A background loop sums `feedback.rate_counters` of the month (in the city's time zone) over
every department, by metric, every `interval_s`; a scrape serves the last measurement and never
waits on PostgreSQL. A dashboard divides them as docs/services/feedback.md defines the rates
(response: responded_on_time / assigned; resolution: resolved / evaluated; satisfaction:
satisfied / evaluated). Every metric is always exported, 0 when nothing was counted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from services.feedback import rates
from services.feedback.models import RateCounter
from services.runtime.clock import Clock
from services.runtime.db import SessionFactory

log = structlog.get_logger(__name__)


class RateCounters(Collector):
    def __init__(
        self, *, sessions: SessionFactory, clock: Clock, zone: ZoneInfo, interval_s: float
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.zone = zone
        self.interval_s = interval_s
        self.counts: dict[str, int] = {}
        self.measured_at: datetime | None = None

    async def measure(self) -> None:
        now = self.clock.now()
        month = rates.month_of(now, self.zone)
        async with self.sessions() as session:
            rows = await session.execute(
                select(RateCounter.metric, func.sum(RateCounter.value))
                .where(RateCounter.month == month)
                .group_by(RateCounter.metric)
            )
            self.counts = {metric: int(total or 0) for metric, total in rows}
        self.measured_at = now

    async def run(self, stop: asyncio.Event) -> None:
        """Measure until stopped; a failed measurement keeps the previous one."""
        while not stop.is_set():
            try:
                await self.measure()
            except Exception as exc:
                log.warning("rate counters not measured", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)

    def collect(self) -> Iterator[Metric]:
        counters = GaugeMetricFamily(
            "liandong_rate_counter",
            "The three rates' counters of the current month, every department summed, by "
            "metric (last measurement)",
            labels=["metric"],
        )
        for metric in rates.METRICS:
            counters.add_metric([metric], self.counts.get(metric, 0))
        yield counters
        yield GaugeMetricFamily(
            "liandong_rate_counter_timestamp_seconds",
            "When the rate counters were last measured (0: not yet)",
            value=self.measured_at.timestamp() if self.measured_at else 0,
        )
