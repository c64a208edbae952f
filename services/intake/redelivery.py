"""Re-sends `demand.received` for demands nothing has happened to: the reconciler.

The outbox guarantees an accepted demand's event reaches the broker, not that classification
ever reads it: a broker that loses its topics (the embedded tansu keeps them in memory), a
record past retention or dead-lettered leaves the demand `received` for ever. Every
`redeliver_interval_s` this loop finds demands still `received` (no status from classification
or routing) for longer than `redeliver_after_s` whose event was last published longer than
that ago, and marks that event's outbox row unpublished again: the relay sends the same bytes,
with the SAME event id, so a classification that did process it drops the copy in its inbox
(consumer, event id). A demand is re-sent at most once per `redeliver_after_s`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import structlog
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text

from contracts.events import DemandReceived, DemandStatus
from services.intake.models import Demand, metadata
from services.runtime.backoff import repeat
from services.runtime.clock import Clock
from services.runtime.db import SessionFactory
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)


class DemandRedeliverer:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        outbox: Outbox,
        clock: Clock,
        after_s: float,
        interval_s: float,
        batch_size: int,
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.clock = clock
        self.after = timedelta(seconds=after_s)
        self.interval_s = interval_s
        self.batch_size = batch_size
        self.healthy = True
        self.redelivered_total = 0  # demands whose event this process re-sent
        outbox_name = f"{outbox.table.schema}.{outbox.table.name}"
        # The outer condition on `published_at` is checked again on the row's newest version
        # under a concurrent update, so two intake replicas never re-send one demand twice.
        self._statement = text(  # the tables' own names, never input
            f"UPDATE {outbox_name} AS o SET published_at = NULL "  # noqa: S608
            f"FROM (SELECT e.id FROM {metadata.schema}.{Demand.__tablename__} AS d "
            f"JOIN {outbox_name} AS e ON e.key = CAST(d.id AS text) AND e.event_type = :type "
            "WHERE d.status = :received AND d.received_at < :cutoff "
            "AND e.published_at < :cutoff "
            "ORDER BY d.received_at LIMIT :limit) AS due "
            "WHERE o.id = due.id AND o.published_at < :cutoff "
            "RETURNING o.key, o.event_id"
        )

    async def sweep_once(self) -> int:
        """Re-send the due demands' events (up to a batch); how many."""
        cutoff = self.clock.now() - self.after
        async with self.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    self._statement,
                    {
                        "type": DemandReceived.TYPE,
                        "received": DemandStatus.received.value,
                        "cutoff": cutoff,
                        "limit": self.batch_size,
                    },
                )
            ).all()
        if rows:
            self.redelivered_total += len(rows)
            self.outbox.notify()
            for row in rows:  # ids only: the demand's text and citizen stay out of the log
                log.warning(
                    "demand.received re-sent: no status since",
                    demand_id=row.key,
                    event_id=str(row.event_id),
                    after_s=self.after.total_seconds(),
                )
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        async def attempt() -> bool:
            return await self.sweep_once() >= self.batch_size  # more are due

        await repeat(
            stop,
            attempt,
            interval_s=self.interval_s,
            owner=self,
            failure="demand redelivery failed, will retry",
        )


class RedeliveryMetrics(Collector):
    """The reconciler, for GET /metrics."""

    def __init__(self, redeliverer: DemandRedeliverer) -> None:
        self.redeliverer = redeliverer

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "liandong_demands_redelivered",
            "Demands whose demand.received event this process re-sent, still `received` "
            "after LIANDONG_INTAKE_REDELIVER_AFTER_S (lost or dead-lettered on the way to "
            "classification)",
            value=self.redeliverer.redelivered_total,
        )
