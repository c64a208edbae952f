"""The running parts of one service process: database, producer, outbox relay and consumers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, Generic

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from prometheus_client import CollectorRegistry
from sqlalchemy import MetaData, text
from typing_extensions import TypeVar

from contracts.events import Event
from contracts.lists import Lists
from services.runtime import tracing
from services.runtime.api_keys import ApiKeys
from services.runtime.clock import Clock, SystemClock
from services.runtime.db import create_engine, create_session_factory
from services.runtime.inbox import inbox_table
from services.runtime.kafka import (
    BatchHandler,
    ConsumerLoop,
    Handler,
    Subscription,
    create_producer,
)
from services.runtime.metrics import RuntimeMetrics
from services.runtime.outbox import Outbox, OutboxRelay, outbox_table
from services.runtime.settings import ServiceSettings

log = structlog.get_logger(__name__)


class ServiceTables:
    """The outbox and inbox every service keeps in its own schema."""

    def __init__(self, metadata: MetaData) -> None:
        self.outbox = outbox_table(metadata)
        self.inbox = inbox_table(metadata)


SettingsT = TypeVar("SettingsT", bound=ServiceSettings, default=ServiceSettings, covariant=True)
"""A service's own settings class: `Runtime[RoutingSettings]` reads routing's fields typed."""


class Runtime(Generic[SettingsT]):
    def __init__(
        self,
        *,
        service: str,
        settings: SettingsT,
        tables: ServiceTables,
        clock: Clock | None = None,
        lists: Lists | None = None,
    ) -> None:
        self.service = service
        self._lists = lists
        self._settings = settings
        self.clock: Clock = clock or SystemClock()
        tracing.configure(settings, service)  # before the engine, so its queries are traced
        self.api_keys = ApiKeys(settings.api_keys_file)
        self.engine = create_engine(settings.async_database_url)
        self.sessions = create_session_factory(self.engine)
        self.tables = tables
        self.outbox = Outbox(tables.outbox, source=f"/liandong/{service}")
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.consumers: list[ConsumerLoop] = []
        self._subscriptions: list[
            tuple[
                tuple[str, ...],
                Mapping[type[Event], Handler],
                Mapping[type[Event], BatchHandler],
            ]
        ] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._loops: list[tuple[str, Callable[[asyncio.Event], Coroutine[Any, Any, None]]]] = []
        self._checks: dict[str, Callable[[], bool]] = {}
        self.reports: dict[str, Callable[[], dict[str, Any]]] = {}
        # Prometheus metrics of this process, served on GET /metrics: the runtime's own
        # (events, lag, outbox) here, HTTP ones by create_service_app, a service's by itself.
        self.metrics = CollectorRegistry()
        self.runtime_metrics = RuntimeMetrics(self)
        self.metrics.register(self.runtime_metrics)

    @property
    def settings(self) -> SettingsT:
        """The service's settings, of its own class (built once at start)."""
        return self._settings

    @property
    def lists(self) -> Lists:
        """The validated lists snapshot this service loaded at start."""
        if self._lists is None:
            raise RuntimeError(f"{self.service} was started without the lists")
        return self._lists

    def consume(
        self,
        topics: Iterable[str],
        handlers: Mapping[type[Event], Handler],
        batch_handlers: Mapping[type[Event], BatchHandler] | None = None,
    ) -> None:
        """Register a consumer (group `liandong-<service>`) before start; `batch_handlers`
        take a batch's run of events of their type in one call (see ConsumerLoop)."""
        self._subscriptions.append((tuple(topics), handlers, batch_handlers or {}))

    def loop(
        self,
        name: str,
        run: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
        healthy: Callable[[], bool] | None = None,
    ) -> None:
        """Register a background loop (before start); it runs until the stop event is set."""
        self._loops.append((name, run))
        if healthy is not None:
            self._checks[name] = healthy

    async def start(self) -> None:
        self.producer = create_producer(self.settings)
        await self._start_producer(self.producer)
        self.relay = OutboxRelay(
            outbox=self.outbox,
            sessions=self.sessions,
            producer=self.producer,
            interval_s=self.settings.relay_interval_ms / 1000,
            batch_size=self.settings.relay_batch_size,
            # The bound the consumers use for an unreachable broker.
            stalled_after_s=self.settings.consumer_session_timeout_ms / 1000,
        )
        self._tasks.append(asyncio.create_task(self.relay.run(self._stop), name="outbox-relay"))
        for topics, handlers, batch_handlers in self._subscriptions:
            loop = ConsumerLoop(
                Subscription(
                    name=f"liandong-{self.service}",
                    topics=topics,
                    handlers=handlers,
                    batch_handlers=batch_handlers,
                ),
                sessions=self.sessions,
                inbox=self.tables.inbox,
                outbox=self.outbox,
                producer=self.producer,
                settings=self.settings,
                clock=self.clock,
            )
            self.consumers.append(loop)
            self._tasks.append(asyncio.create_task(loop.run(self._stop), name=f"consumer-{topics}"))
        for name, run in self._loops:
            self._tasks.append(asyncio.create_task(run(self._stop), name=name))
        self._tasks.append(
            asyncio.create_task(self.runtime_metrics.run(self._stop), name="metrics-refresh")
        )
        log.info("service started", port=self.settings.port)

    async def _start_producer(self, producer: AIOKafkaProducer) -> None:
        delay = 0.5
        for _ in range(20):
            try:
                await producer.start()
                return
            except KafkaConnectionError:
                log.warning("kafka not reachable, retrying", delay_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)
        await producer.start()

    async def stop(self) -> None:
        """Finish the record in hand, commit, leave the group, drain the outbox, close."""
        self._stop.set()
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        for task, result in zip(self._tasks, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                log.error("task ended with an error", task=task.get_name(), error=repr(result))
        if self.producer is not None:
            await self.producer.stop()
        await self.engine.dispose()
        tracing.shutdown()
        log.info("service stopped")

    def alive(self) -> bool:
        """False once a background loop (relay, consumer) has ended while it should run."""
        return self._stop.is_set() or not any(task.done() for task in self._tasks)

    async def readiness(self) -> dict[str, bool]:
        checks: dict[str, bool] = {}
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("select 1"))
            checks["database"] = True
        except Exception:
            checks["database"] = False
        checks["outbox_relay"] = self.relay is not None and self.relay.healthy
        for loop in self.consumers:
            checks[f"consumer:{','.join(loop.topics)}"] = loop.healthy
        for name, healthy in self._checks.items():
            checks[name] = healthy()
        return checks
