"""Kafka plumbing: producer, topic creation and the consumer loop every service runs.

Per record: decode the CloudEvent -> validate into its contract model -> bind the log context and
the trace span -> run the handler and the inbox insert in one transaction -> commit the offset. A
partition's batch is first tried in one transaction; if anything fails, its records go one by one,
with retries. A record that cannot be decoded, or whose handler keeps failing, goes to
`<topic>.dlq` with the error in its headers and the partition moves on. A database or network
outage is not the record's fault: it is retried without limit, so an outage never empties a topic
into its dead-letter queue. Any other error escaping a partition's batch rewinds the partition to
its first uncommitted offset before the next poll, so no record is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaConnectionError,
    KafkaError,
    TopicAlreadyExistsError,
)
from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import Envelope, EnvelopeError, decode
from contracts.events import Event
from contracts.topics import dlq
from services.runtime import tracing
from services.runtime.clock import Clock
from services.runtime.db import SessionFactory
from services.runtime.inbox import record_first_deliveries, record_first_delivery
from services.runtime.logging import hide_query_arguments, mask_text
from services.runtime.outbox import Outbox
from services.runtime.settings import ServiceSettings

log = structlog.get_logger(__name__)


# SQLSTATE classes of a database that is down, restarting, full or contended: 08 connection,
# 53 insufficient resources, 57 operator intervention (57P01 admin shutdown, 57P03 starting up),
# and 40001 / 40P01 (serialization failure, deadlock) which a retry resolves.
_OUTAGE_SQLSTATE_CLASSES = ("08", "53", "57")
_RETRY_SQLSTATES = ("40001", "40P01")


def is_outage(exc: BaseException) -> bool:
    """True when the failure is the database's or the network's, not the record's."""
    if isinstance(exc, SQLAlchemyTimeoutError):  # the connection pool is exhausted
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            return True
        state = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
        return state.startswith(_OUTAGE_SQLSTATE_CLASSES) or state in _RETRY_SQLSTATES
    return isinstance(exc, ConnectionError | OSError | TimeoutError | KafkaConnectionError)


def create_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_idempotence=settings.kafka_enable_idempotence,
        acks="all",
        linger_ms=5,
    )


async def create_topics(
    bootstrap_servers: str, names: Iterable[str], *, partitions: int = 3, replicas: int = 1,
    configs: Mapping[str, str] | None = None,
) -> None:  # fmt: skip
    """Create topics that do not exist yet; existing ones are left as they are. A cluster gives
    `replicas` 3 and `min.insync.replicas` 2 in `configs`, as production does."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, partitions, replicas, topic_configs=dict(configs or {}))
            for name in names
            if name not in existing
        ]
        if missing:
            # Another launcher may create them concurrently.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a handler gets besides the event: its transaction and where its events go."""

    session: AsyncSession
    outbox: Outbox
    envelope: Envelope
    clock: Clock


Handler = Callable[[Delivery, Any], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BatchDelivery:
    """What a batch handler gets: one transaction for a run of events of one type."""

    session: AsyncSession
    outbox: Outbox
    clock: Clock


# A batch handler has the effect of its type's handler applied to each event in order, in
# fewer round trips to the database; the careful path (record by record) uses the handler.
BatchHandler = Callable[[BatchDelivery, list[Any]], Awaitable[None]]


class PoisonMessage(Exception):
    """The record can never be processed: send it to the dead-letter topic at once."""

    def __init__(self, message: str, *, reason: str = "undecodable") -> None:
        super().__init__(message)
        self.reason = reason


def _coordinator_known(consumer: AIOKafkaConsumer) -> bool:
    """Whether aiokafka currently knows (and has reached) the group's coordinator. Reads
    `GroupCoordinator.coordinator_id`, which aiokafka clears on a failed request to it; a
    consumer without a group coordinator (none in this project) counts as knowing it."""
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None or not hasattr(coordinator, "coordinator_id"):
        return True
    return coordinator.coordinator_id is not None


# Metric label values of the consumer (see services/runtime/metrics.py).
UNKNOWN_TYPE = "unknown"
OK, DUPLICATE, RETRIED, DEAD_LETTERED = "ok", "duplicate", "retried", "dead_lettered"


@dataclass(frozen=True, slots=True)
class Subscription:
    """What a consumer loop reads: its group's name, its topics, and the handler of each event
    type (one event at a time, or a batch handler for the types that are faster in batches)."""

    name: str
    topics: Iterable[str]
    handlers: Mapping[type[Event], Handler]
    batch_handlers: Mapping[type[Event], BatchHandler] | None = None


class ConsumerLoop:
    def __init__(
        self,
        subscription: Subscription,
        *,
        sessions: SessionFactory,
        inbox: Table,
        outbox: Outbox,
        producer: AIOKafkaProducer,
        settings: ServiceSettings,
        clock: Clock,
    ) -> None:
        self.name = subscription.name
        self.topics = tuple(subscription.topics)
        self.handlers = {
            model.TYPE: (model, handler) for model, handler in subscription.handlers.items()
        }
        self.batch_handlers = {
            model.TYPE: handler for model, handler in (subscription.batch_handlers or {}).items()
        }
        self.sessions = sessions
        self.inbox = inbox
        self.outbox = outbox
        self.producer = producer
        self.settings = settings
        self.clock = clock
        # `healthy` is both: the loop is working (no handler outage, no failing poll) and the
        # broker answers (see `broker_reachable`).
        self._working = False
        self._lost_since: float | None = None  # monotonic; when the broker stopped answering
        self.processed = 0
        self.dead_lettered = 0
        # For GET /metrics: (topic, event type, outcome) and (topic, reason) counts, and the
        # lag of each assigned partition at the last `refresh_lag`.
        self.outcomes: Counter[tuple[str, str, str]] = Counter()
        self.dead_letters: Counter[tuple[str, str]] = Counter()
        self.lag: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None

    @property
    def unreachable_after_s(self) -> float:
        """How long the broker may be out of reach before the consumer reports unhealthy: the
        session timeout, after which the broker itself would drop this member."""
        return self.settings.consumer_session_timeout_ms / 1000

    @property
    def healthy(self) -> bool:
        """Readiness and `liandong_consumer_up`: the loop runs, its handlers are not waiting out
        an outage, and the broker has not been out of reach for longer than the session
        timeout. A consumer whose fetches fail returns empty batches from getmany without an
        error, so the loop's own progress cannot tell a broker outage from a quiet topic."""
        return self._working and self.broker_reachable()

    def broker_reachable(self) -> bool:
        """False once the group coordinator has been unknown for `unreachable_after_s`.
        aiokafka marks the coordinator dead when a heartbeat, commit or any request to it
        fails (connection refused, timeout) and only knows one again after a lookup and a
        connection succeed; the heartbeat runs every `session timeout / 5`. Fetches go to the
        same broker in a one-broker cluster; in a larger one a lost coordinator moves within
        seconds, so an unknown coordinator for a whole session timeout means no broker answers."""
        consumer = self._consumer
        if consumer is None:
            return False
        now = time.monotonic()
        if _coordinator_known(consumer):
            self._lost_since = None
            return True
        if self._lost_since is None:
            self._lost_since = now
            log.warning("kafka group coordinator unknown", consumer=self.name)
        return now - self._lost_since <= self.unreachable_after_s

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.settings.consumer_session_timeout_ms,
            heartbeat_interval_ms=max(self.settings.consumer_session_timeout_ms // 5, 500),
            max_poll_records=self.settings.consumer_max_poll_records,
            fetch_max_wait_ms=100,  # latency: a waiting fetch returns within 100 ms
        )
        await self._start_with_retry(consumer, stop)
        self._consumer = consumer
        self._working = True
        log.info("consumer started", consumer=self.name, topics=list(self.topics))
        try:
            delay = 0.5
            while not stop.is_set():
                try:
                    await self._poll_once(consumer, stop)
                    # A poll that returns has no handler waiting out an outage: working again
                    # (after a loop error too), whether or not it brought records.
                    self._working = True
                    self.broker_reachable()  # notes when the broker stopped answering
                    delay = 0.5
                except Exception:
                    if stop.is_set():
                        raise
                    # The loop must outlive any one failure (a rebalance during a commit, Kafka
                    # down while dead-lettering): the failed partitions were rewound to their
                    # first uncommitted offset (`_rewind`), so the records come again and the
                    # inbox drops the ones already processed.
                    self._working = False
                    log.exception("consumer loop error, continuing", delay_s=delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10)
        finally:
            self._working = False
            self._consumer = None
            self._lost_since = None
            self.lag = {}
            # Leaves the group, so the partitions move to another member at once.
            await consumer.stop()
            log.info("consumer stopped", consumer=self.name)

    async def _poll_once(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        batch = await consumer.getmany(timeout_ms=500)
        # Partitions are independent: their batches run side by side (up to a bound, each
        # holds a database connection), each in its own transaction, so one's database round
        # trips overlap another's work. Within a partition, records keep their order.
        slots = asyncio.Semaphore(self.settings.consumer_partitions_in_flight)

        async def consume(
            partition: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]
        ) -> None:
            async with slots:
                await self._consume_and_commit(consumer, partition, records, stop)

        outcomes = await asyncio.gather(
            *(consume(partition, records) for partition, records in batch.items()),
            return_exceptions=True,  # every partition finishes (and commits) before a raise
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _consume_and_commit(
        self,
        consumer: AIOKafkaConsumer,
        partition: TopicPartition,
        records: list[ConsumerRecord[bytes, bytes]],
        stop: asyncio.Event,
    ) -> None:
        try:
            next_offset = await self._consume_partition(records, stop)
            # One offset commit per partition batch, always after the records' own database
            # commits; a crash in between redelivers them to the inbox.
            if next_offset is None:
                return
            try:
                await self._commit(consumer, partition, next_offset)
            except (CommitFailedError, IllegalStateError) as exc:
                # The partition moved to another member during the batch: it will redeliver.
                log.warning("offset commit refused after a rebalance", error=str(exc))
        except BaseException:
            # An error the record-level handling did not absorb (a bug, Kafka failing the
            # commit or the dead-letter send, a stop): getmany already moved the position past
            # this batch, so without a rewind its unprocessed records would never come again.
            self._rewind(consumer, partition, int(records[0].offset))
            raise

    @staticmethod
    def _rewind(consumer: AIOKafkaConsumer, partition: TopicPartition, offset: int) -> None:
        """Fetch the partition again from `offset`, the first offset of a batch that failed.
        It is the partition's first uncommitted offset: every batch ends in an offset commit
        or, failing, in this rewind, and a rebalance resets positions to the committed
        offsets. Known locally, it needs no request to Kafka, which may be what failed.
        Records of the batch already processed come again and the inbox drops them."""
        try:
            consumer.seek(partition, offset)
        except IllegalStateError:
            pass  # no longer assigned: its next owner starts at the committed offset
        else:
            log.warning(
                "partition rewound after a failed batch", partition=str(partition), offset=offset
            )

    async def refresh_lag(self) -> None:
        """Measure, per assigned partition, the records after the group's committed offset
        (the end offset when nothing was committed yet counts the whole partition). Two small
        requests per partition set; called by the metrics loop, never per record."""
        consumer = self._consumer
        if consumer is None:
            self.lag = {}
            return
        assigned = sorted(consumer.assignment())
        if not assigned:
            self.lag = {}
            return
        ends = await consumer.end_offsets(assigned)
        starts: dict[TopicPartition, int] | None = None
        lag: dict[TopicPartition, int] = {}
        for tp in assigned:
            committed = await consumer.committed(tp)
            if committed is None:
                if starts is None:
                    starts = await consumer.beginning_offsets(assigned)
                committed = starts[tp]
            lag[tp] = max(int(ends[tp]) - int(committed), 0)
        self.lag = lag

    async def _start_with_retry(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        delay = 0.5
        while True:
            try:
                await consumer.start()
                return
            except KafkaConnectionError:
                if stop.is_set():
                    raise
                log.warning("kafka not reachable, retrying", consumer=self.name, delay_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _commit(
        self, consumer: AIOKafkaConsumer, partition: TopicPartition, offset: int
    ) -> None:
        pause = self.settings.fault_pause_before_offset_commit_s
        if pause:
            log.warning("fault injection: effect committed, offset commit paused", pause_s=pause)
            await asyncio.sleep(pause)
        await consumer.commit({partition: offset})

    async def _consume_partition(
        self, records: list[ConsumerRecord[bytes, bytes]], stop: asyncio.Event
    ) -> int | None:
        """Process a partition's batch; returns the offset to commit next, or None."""
        if stop.is_set():
            return None
        if len(records) > 1 and await self._handle_together(records):
            return int(records[-1].offset) + 1
        next_offset = None
        for record in records:
            if stop.is_set():
                break
            await self._consume(record, stop)
            next_offset = record.offset + 1
        return next_offset

    async def _handle_together(self, records: list[ConsumerRecord[bytes, bytes]]) -> bool:
        """The fast path: a whole batch in one transaction (inbox row per record). Any poison
        record or failure sends the batch down the careful path, record by record, instead."""
        decoded = []
        for record in records:
            try:
                decoded.append(self._decode(record))
            except PoisonMessage:
                return False
        try:
            with tracing.processing_batch([envelope for envelope, _ in decoded]):
                async with self.sessions() as session, session.begin():
                    applied = await self._apply_batch(session, decoded)
        except Exception as exc:
            log.warning("batch failed, processing its records one by one", error=str(exc))
            return False
        finally:
            structlog.contextvars.unbind_contextvars("demand_id", "event_id", "event_type")
        self.processed += len(decoded)
        topic = records[0].topic  # one partition's batch
        self.outcomes.update(
            (topic, envelope.type, OK if first else DUPLICATE)
            for (envelope, _), first in zip(decoded, applied, strict=True)
        )
        self._working = True
        self.outbox.notify()
        return True

    async def _consume(self, record: ConsumerRecord[bytes, bytes], stop: asyncio.Event) -> None:
        try:
            await self._consume_bound(record, stop)
        finally:
            structlog.contextvars.unbind_contextvars("demand_id", "event_id", "event_type")

    async def _consume_bound(
        self, record: ConsumerRecord[bytes, bytes], stop: asyncio.Event
    ) -> None:
        try:
            envelope, event = self._decode(record)
        except PoisonMessage as exc:
            await self._dead_letter(record, str(exc), attempts=0, reason=exc.reason)
            return
        structlog.contextvars.bind_contextvars(
            demand_id=envelope.demand_id, event_id=envelope.id, event_type=envelope.type
        )
        attempt = 0
        infra_delay = 0.5
        while True:
            attempt += 1
            try:
                first = await self._handle(envelope, event)
                self.processed += 1
                self.outcomes[(record.topic, envelope.type, OK if first else DUPLICATE)] += 1
                self._working = True
                return
            except Exception as exc:
                if is_outage(exc):
                    self._working = False
                    self.outcomes[(record.topic, envelope.type, RETRIED)] += 1
                    log.warning("outage, retrying", error=str(exc), delay_s=infra_delay)
                    if stop.is_set():
                        raise
                    await asyncio.sleep(infra_delay)
                    infra_delay = min(infra_delay * 2, 10)
                    attempt -= 1  # an outage does not count against the record
                    continue
                if attempt >= self.settings.consumer_max_attempts:
                    log.exception("handler failed, dead-lettering", attempts=attempt)
                    await self._dead_letter(
                        record,
                        f"{type(exc).__name__}: {exc}",
                        attempts=attempt,
                        reason="handler_failed",
                    )
                    return
                self.outcomes[(record.topic, envelope.type, RETRIED)] += 1
                log.warning("handler failed, retrying", attempt=attempt, error=str(exc))
                await asyncio.sleep(
                    self.settings.consumer_retry_backoff_ms / 1000 * 2 ** (attempt - 1)
                )

    def _decode(self, record: ConsumerRecord[bytes, bytes]) -> tuple[Envelope, Event]:
        """The record's envelope and event, or PoisonMessage. Decoding touches nothing but the
        record, so any failure in it is the record's and would recur: a surprise from a
        library is dead-lettered like an invalid envelope, never raised into the loop."""
        try:
            envelope, event = decode(record.headers, record.value)
        except EnvelopeError as exc:
            raise PoisonMessage(str(exc)) from exc
        except Exception as exc:
            raise PoisonMessage(f"{type(exc).__name__}: {exc}") from exc
        if envelope.type not in self.handlers:
            raise PoisonMessage(
                f"{self.name} does not handle {envelope.type} on {record.topic}",
                reason="unhandled_type",
            )
        return envelope, event

    async def _handle(self, envelope: Envelope, event: Event) -> bool:
        with tracing.processing(envelope):
            async with self.sessions() as session, session.begin():
                first = await self._apply(session, envelope, event)
        self.outbox.notify()
        return first

    async def _apply(self, session: AsyncSession, envelope: Envelope, event: Event) -> bool:
        """The effect of one event and its inbox row, in the caller's transaction; False for
        a duplicate delivery, which has no effect."""
        first = await record_first_delivery(
            session, self.inbox, consumer=self.name, event_id=envelope.id, event_type=envelope.type
        )
        if not first:
            log.info("duplicate delivery ignored")
            return False
        _, handler = self.handlers[envelope.type]
        await handler(Delivery(session, self.outbox, envelope, self.clock), event)
        return True

    async def _apply_batch(
        self, session: AsyncSession, decoded: list[tuple[Envelope, Event]]
    ) -> list[bool]:
        """`_apply` for a whole batch: one inbox statement, then each run of consecutive events
        of one type through its batch handler when it has one, else event by event. Returns,
        per record, whether it was a first delivery."""
        fresh_ids = await record_first_deliveries(
            session,
            self.inbox,
            consumer=self.name,
            events=[(envelope.id, envelope.type) for envelope, _ in decoded],
        )
        applied = []
        fresh: list[tuple[Envelope, Event]] = []
        for envelope, event in decoded:
            first = envelope.id in fresh_ids
            fresh_ids.discard(envelope.id)  # the same event twice in one batch applies once
            applied.append(first)
            if first:
                fresh.append((envelope, event))
            else:
                log.info("duplicate delivery ignored", event_id=envelope.id)
        for event_type, run in groupby(fresh, key=lambda pair: pair[0].type):
            pairs = list(run)
            many = self.batch_handlers.get(event_type)
            if many is not None:
                await many(BatchDelivery(session, self.outbox, self.clock), [e for _, e in pairs])
                continue
            _, handler = self.handlers[event_type]
            for envelope, event in pairs:
                structlog.contextvars.bind_contextvars(
                    demand_id=envelope.demand_id, event_id=envelope.id, event_type=envelope.type
                )
                await handler(Delivery(session, self.outbox, envelope, self.clock), event)
        return applied

    def type_label(self, record: ConsumerRecord[bytes, bytes]) -> str:
        """The record's event type as a metric label: only a type this consumer handles; the
        header of a poison record is sender-chosen text and becomes `unknown`."""
        for name, value in record.headers:
            if name == "ce_type" and isinstance(value, bytes):
                event_type = value.decode(errors="replace")
                return event_type if event_type in self.handlers else UNKNOWN_TYPE
        return UNKNOWN_TYPE

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], error: str, *, attempts: int, reason: str
    ) -> None:
        headers = [
            *[(k, v) for k, v in record.headers if not k.startswith("dlq_")],
            ("dlq_error", mask_text(hide_query_arguments(error))[:4000].encode()),
            ("dlq_consumer", self.name.encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_time", self.clock.now().isoformat().encode()),
        ]
        delay = 0.5
        while True:  # a record is never dropped: until the dead-letter topic has it, retry
            try:
                await self.producer.send_and_wait(
                    dlq(record.topic), value=record.value, key=record.key, headers=headers
                )
                break
            except KafkaError as exc:
                self._working = False
                log.warning(
                    "dead-letter topic unavailable, retrying", error=str(exc), delay_s=delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
        self.dead_lettered += 1
        self.outcomes[(record.topic, self.type_label(record), DEAD_LETTERED)] += 1
        self.dead_letters[(record.topic, reason)] += 1
        log.error("message dead-lettered", topic=record.topic, offset=record.offset, error=error)
