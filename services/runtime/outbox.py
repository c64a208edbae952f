"""Transactional outbox: events are rows written with the state change, published by a relay.

The relay publishes in id order and marks rows sent. Only one relay per schema publishes at a
time (a transaction-scoped advisory lock), so per-key order holds with several replicas.
Delivery is at-least-once; consumers de-duplicate by event id (the inbox).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    any_,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session, registry

from contracts.envelope import TRACEPARENT_HEADER, encode
from contracts.events import Event
from services.runtime import tracing
from services.runtime.db import SessionFactory

log = structlog.get_logger(__name__)


def outbox_table(metadata: MetaData) -> Table:
    table = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("event_type", String(200), nullable=False),
        Column("topic", String(249), nullable=False),
        Column("key", String(200), nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
    )
    Index(
        "ix_outbox_unpublished",
        table.c.id,
        postgresql_where=table.c.published_at.is_(None),
    )
    return table


_ROW_CLASSES: dict[Table, type] = {}


def _row_class(table: Table) -> type:
    """An ORM class for the outbox table, so rows join the session's unit of work: they are
    inserted with the other changes at flush, many in one statement, in the order added."""
    if table not in _ROW_CLASSES:

        def init(self: Any, **values: Any) -> None:
            for name, value in values.items():
                setattr(self, name, value)

        row_class = type(f"OutboxRow_{table.schema}", (), {"__init__": init})
        registry().map_imperatively(row_class, table)
        _ROW_CLASSES[table] = row_class
    return _ROW_CLASSES[table]


class Outbox:
    """Writes events into the service's outbox table inside the caller's transaction."""

    def __init__(self, table: Table, *, source: str) -> None:
        self.table = table
        self.source = source
        self.pending = asyncio.Event()
        self._row = _row_class(table)
        self._insert_many = text(  # the table's own name, never input
            f"INSERT INTO {table.schema}.{table.name} "  # noqa: S608
            "(event_id, event_type, topic, key, headers, value) "
            "SELECT * FROM unnest(CAST(:event_ids AS uuid[]), CAST(:types AS text[]), "
            "CAST(:topics AS text[]), CAST(:keys AS text[]), CAST(:headers AS jsonb[]), "
            "CAST(:values AS bytea[]))"
        )

    async def put(self, session: AsyncSession, event: Event) -> uuid.UUID:
        return self.add(session, event)

    def add(self, session: AsyncSession | Session, event: Event) -> uuid.UUID:
        """`put` for code that runs inside the session's own hooks (no await there)."""
        values = self.values(event)
        session.add(self._row(**values))
        event_id: uuid.UUID = values["event_id"]
        return event_id

    async def put_many(
        self, session: AsyncSession | AsyncConnection, events: Sequence[Event]
    ) -> None:
        """Many events in one statement (the sweeper's batches, routing's new tasks), in
        order."""
        if not events:
            return
        rows = [self.values(event) for event in events]
        await session.execute(
            self._insert_many,
            {
                "event_ids": [row["event_id"] for row in rows],
                "types": [row["event_type"] for row in rows],
                "topics": [row["topic"] for row in rows],
                "keys": [row["key"] for row in rows],
                "headers": [json.dumps(row["headers"]) for row in rows],
                "values": [row["value"] for row in rows],
            },
        )

    def values(self, event: Event) -> dict[str, Any]:
        """The outbox row of an event."""
        event_id = uuid.uuid4()
        # The trace context travels in the stored headers, so it outlives the transaction.
        message = encode(
            event,
            source=self.source,
            event_id=str(event_id),
            traceparent=tracing.traceparent_of(str(event.demand_id)),
        )
        return {
            "event_id": event_id,
            "event_type": event.TYPE,
            "topic": message.topic,
            "key": message.key.decode(),
            "headers": [[name, value.decode()] for name, value in message.headers],
            "value": message.value,
        }

    def notify(self) -> None:
        """Wake the relay after a commit, so events leave at once instead of at the next poll."""
        self.pending.set()


class OutboxRelay:
    def __init__(
        self,
        *,
        outbox: Outbox,
        sessions: SessionFactory,
        producer: Any,
        interval_s: float,
        batch_size: int,
        stalled_after_s: float = 10.0,
    ) -> None:
        self.outbox = outbox
        self.sessions = sessions
        self.producer = producer
        self.interval_s = interval_s
        self.batch_size = batch_size
        # A batch whose sends have been outstanding this long reports the relay unhealthy,
        # before the producer's own request timeout (40 s) fails them.
        self.stalled_after_s = stalled_after_s
        self._ok = True  # the last attempt succeeded
        self._sending_since: float | None = None  # monotonic; a batch's sends are outstanding
        # For GET /metrics: events published per topic, failed attempts, last good attempt.
        self.published: Counter[str] = Counter()
        self.failures = 0
        self.last_success: float | None = None
        schema = outbox.table.schema or "public"
        # A stable 63-bit advisory lock id per schema.
        self._lock_id = (
            int.from_bytes(hashlib.sha256(f"outbox:{schema}".encode()).digest()[:8]) >> 1
        )

    @property
    def healthy(self) -> bool:
        """Readiness and `liandong_outbox_relay_up`: the last attempt succeeded and no batch
        has been waiting on Kafka for longer than `stalled_after_s` (with the broker down a
        send hangs until the producer's request timeout)."""
        sending_since = self._sending_since
        stalled = (
            sending_since is not None and time.monotonic() - sending_since > self.stalled_after_s
        )
        return self._ok and not stalled

    async def run(self, stop: asyncio.Event) -> None:
        backoff = self.interval_s
        while not stop.is_set():
            # Cleared before reading, so a commit notified during the read is not missed.
            self.outbox.pending.clear()
            try:
                published = await self.publish_batch()
                self._ok = True
                self.last_success = time.time()
                backoff = self.interval_s
            except Exception:
                self._ok = False
                self.failures += 1
                log.exception("outbox relay failed, will retry")
                published = 0
                backoff = min(backoff * 2, 10.0)
            if published:
                continue
            waiters = [
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self.outbox.pending.wait()),
            ]
            await asyncio.wait(waiters, timeout=backoff, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        # Drain what was committed before shutdown.
        try:
            while await self.publish_batch():
                pass
        except Exception:
            log.exception("outbox relay could not drain on shutdown; rows stay for the next start")

    async def publish_batch(self) -> int:
        table = self.outbox.table
        async with self.sessions() as session, session.begin():
            locked = await session.scalar(select(func.pg_try_advisory_xact_lock(self._lock_id)))
            if not locked:
                return 0
            rows = (
                await session.execute(
                    select(table.c.id, table.c.topic, table.c.key, table.c.headers, table.c.value)
                    .where(table.c.published_at.is_(None))
                    .order_by(table.c.id)
                    .limit(self.batch_size)
                )
            ).all()
            if not rows:
                return 0
            self._sending_since = time.monotonic()
            spans: list[Any] = []
            error: BaseException | None = None
            try:
                futures = [await self._send(row, spans) for row in rows]
                await asyncio.gather(*futures)
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._sending_since = None
                for span in spans:
                    tracing.end(span, error)
            await session.execute(
                update(table)
                .where(table.c.id == any_(bindparam("ids", type_=ARRAY(BigInteger))))
                .values(published_at=text("now()")),
                {"ids": [row.id for row in rows]},  # one array parameter, however many rows
            )
        self.published.update(row.topic for row in rows)
        log.debug("outbox published", count=len(rows))
        return len(rows)

    async def _send(self, row: Any, spans: list[Any]) -> Any:
        """Hand one row to the producer; returns the future of its acknowledgement. A traced
        event gets a publish span, and the record carries that span's context."""
        headers: list[tuple[str, str]] = [(name, value) for name, value in row.headers]
        stored = next((v for n, v in headers if n == TRACEPARENT_HEADER), None)
        span = tracing.start_publish(row.topic, _header(headers, "ce_id"), stored)
        if span is not None:
            spans.append(span)
            sent = tracing.traceparent_header(span, stored)
            headers = [(n, sent if n == TRACEPARENT_HEADER and sent else v) for n, v in headers]
        return await self.producer.send(
            row.topic,
            value=row.value,
            key=row.key.encode(),
            headers=[(name, value.encode()) for name, value in headers],
        )


def _header(headers: Sequence[tuple[str, str]], name: str) -> str:
    return next((value for key, value in headers if key == name), "")


BACKLOG_COUNT_CAP = 1_000_000


@dataclass(frozen=True, slots=True)
class Backlog:
    rows: int  # unpublished rows, counted up to `cap`
    oldest_age_s: float  # age of the oldest unpublished row; 0 when there is none
    cap: int = BACKLOG_COUNT_CAP


async def measure_backlog(
    conn: AsyncConnection, table: Table, *, cap: int = BACKLOG_COUNT_CAP
) -> Backlog:
    """Unpublished rows and the age of the oldest, both read through the partial index of
    unpublished rows; the count stops at `cap`, so even a huge backlog costs a bounded scan.
    The age uses the database clock, the one that stamped `created_at`."""
    unpublished = table.c.published_at.is_(None)
    rows = select(func.count()).select_from(
        select(table.c.id).where(unpublished).limit(cap).subquery()
    )
    oldest = (
        select(func.extract("epoch", func.now() - table.c.created_at))
        .where(unpublished)
        .order_by(table.c.id)
        .limit(1)
    )
    result = (await conn.execute(select(rows.scalar_subquery(), oldest.scalar_subquery()))).one()
    return Backlog(rows=int(result[0]), oldest_age_s=max(float(result[1] or 0), 0.0), cap=cap)
