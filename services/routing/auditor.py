"""The deadline auditor: a dead-man's switch that finds open work no timer would escalate, and
the escalation metrics served on GET /metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.routing import repository
from services.routing.sweeper import Sweeper
from services.runtime.clock import Clock
from services.runtime.db import SessionFactory

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class AuditReport:
    checked_at: datetime | None = None
    stuck_tasks: int = 0
    stuck_disputes: int = 0
    stuck_extensions: int = 0
    sweeper_lag_s: float = 0.0

    @property
    def ok(self) -> bool:
        stuck = self.stuck_tasks + self.stuck_disputes + self.stuck_extensions
        return self.checked_at is not None and stuck == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "stuck_tasks": self.stuck_tasks,
            "stuck_disputes": self.stuck_disputes,
            "stuck_extensions": self.stuck_extensions,
            "sweeper_lag_s": round(self.sweeper_lag_s, 3),
        }


class Auditor:
    """Dead-man's switch: every open task, dispute and extension request must have a live
    timer or be supervised at the city; otherwise nothing would ever escalate it. Stuck ones
    are logged and reported."""

    def __init__(self, *, sessions: SessionFactory, clock: Clock, interval_s: float) -> None:
        self.sessions = sessions
        self.clock = clock
        self.interval_s = interval_s
        self.report = AuditReport()

    async def audit(self) -> AuditReport:
        async with self.sessions() as session:
            row = await repository.timer_audit(session)
        now = self.clock.now()
        lag = max((now - row.oldest_due).total_seconds(), 0.0) if row.oldest_due else 0.0
        self.report = AuditReport(
            checked_at=now,
            stuck_tasks=row.stuck,
            stuck_disputes=row.stuck_disputes,
            stuck_extensions=row.stuck_extensions,
            sweeper_lag_s=lag,
        )
        if row.stuck or row.stuck_disputes or row.stuck_extensions:
            log.error(
                "open work without a live timer",
                stuck_tasks=row.stuck,
                stuck_disputes=row.stuck_disputes,
                stuck_extensions=row.stuck_extensions,
            )
        return self.report

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.audit()
            except Exception:
                log.exception("audit failed, will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)


_HIGHEST_LEVEL = 3


class EscalationMetrics(Collector):
    """The sweeper's counters and the auditor's findings, for GET /metrics."""

    def __init__(self, sweeper: Sweeper | None, auditor: Auditor) -> None:
        self.sweeper = sweeper
        self.auditor = auditor

    def collect(self) -> Iterator[Metric]:
        if self.sweeper is not None:
            fired = CounterMetricFamily(
                "liandong_timers_fired", "Timers fired by this process's sweeper", labels=["kind"]
            )
            totals = self.sweeper.totals
            fired.add_metric(["escalation"], totals.escalated)
            fired.add_metric(["reminder"], totals.reminded)
            fired.add_metric(["stale"], totals.stale)
            fired.add_metric(["dispute"], totals.escalated_disputes)
            fired.add_metric(["extension"], totals.escalated_extensions)
            yield fired
            by_level = CounterMetricFamily(
                "liandong_escalations",
                "Tasks this process's sweeper escalated, by the level reached (steps above the "
                "department's unit: 1 its parent, up to the city)",
                labels=["level"],
            )
            # Every level a task can climb to is exported, 0 until one does (a community's
            # department climbs at most three steps, to the city), so a panel has its lines.
            highest = max([_HIGHEST_LEVEL, *totals.escalated_by_level])
            for level in range(1, highest + 1):
                by_level.add_metric([str(level)], totals.escalated_by_level[level])
            yield by_level
        report = self.auditor.report
        yield GaugeMetricFamily(
            "liandong_stuck_tasks",
            "Open tasks with no live timer that are not supervised (last audit)",
            value=report.stuck_tasks,
        )
        yield GaugeMetricFamily(
            "liandong_stuck_disputes",
            "Open disputes with no ruling deadline that are not supervised (last audit)",
            value=report.stuck_disputes,
        )
        yield GaugeMetricFamily(
            "liandong_stuck_extensions",
            "Pending extension requests with no decision deadline, not supervised (last audit)",
            value=report.stuck_extensions,
        )
        yield GaugeMetricFamily(
            "liandong_sweeper_lag_seconds",
            "How late the oldest due timer is (last audit)",
            value=report.sweeper_lag_s,
        )
        yield GaugeMetricFamily(
            "liandong_deadline_audit_timestamp_seconds",
            "When the auditor last ran (0: not yet)",
            value=report.checked_at.timestamp() if report.checked_at else 0,
        )
