"""Prometheus metrics every service exports on GET /metrics, from its own registry.

- HTTP: an ASGI middleware counts requests and times them by method, route *template* (the
  declared path such as `/v1/demands/{demand_id}`, never the raw path, so ids and tokens do
  not become label values) and status class (`2xx`, `4xx`, ...). Probes and scrapes
  (`/health/*`, `/metrics`) are not counted: a not-ready 503 is not a server error, and the
  launcher's or orchestrator's polling would drown the API's own traffic.
- Kafka and outbox: the consumer loops and the outbox relay keep plain counters (a dict
  increment per event); a collector turns them into metric families at scrape time.
- Consumer lag and outbox backlog need the broker and the database: a background loop
  measures them every `metrics_refresh_ms` and the collector serves the last measurement,
  so a scrape never waits on Kafka or PostgreSQL.

Label values only ever come from bounded, code-defined sets: route templates, HTTP methods,
status classes, topic names, event types this consumer handles, outcomes and reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Protocol

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime.kafka import ConsumerLoop
from services.runtime.outbox import Backlog, Outbox, OutboxRelay, measure_backlog
from services.runtime.settings import ServiceSettings

log = structlog.get_logger(__name__)

UNMATCHED_ROUTE = "unmatched"
OTHER_METHOD = "OTHER"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def route_label(scope: Scope, fixed_paths: frozenset[str] = frozenset()) -> str:
    """The template of the route that matched the request, the path itself when it is one of
    `fixed_paths` (the app's own parameterless routes outside the API, such as
    /openapi.json and /docs, which do not record their route in the scope), or `unmatched`
    (a 404 from the router, or a request refused before routing)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if isinstance(template, str):
        return template
    path = scope.get("path")
    return path if path in fixed_paths else UNMATCHED_ROUTE


def is_unmeasured(path: str) -> bool:
    """Health probes and metric scrapes: answered, never counted."""
    return path == "/metrics" or path.startswith("/health/")


def method_label(method: str) -> str:
    """The standard methods as they are; anything else (client-chosen text) is `OTHER`."""
    return method if method in _METHODS else OTHER_METHOD


def status_label(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


class HttpMetrics:
    """The request counter and latency histogram of one service, on its registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ("method", "route", "status")
        self.requests = Counter(
            "liandong_http_requests",
            "HTTP requests answered, by method, route template and status class",
            labels,
            registry=registry,
        )
        self.duration = Histogram(
            "liandong_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status class",
            labels,
            registry=registry,
            buckets=_LATENCY_BUCKETS,
        )
        # The labelled children, looked up once per label set instead of on every request.
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: str, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(*key), self.duration.labels(*key))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


class HttpMetricsMiddleware:
    """Pure ASGI (no per-request task or body buffering); the outermost middleware, so a 413
    from the body limit and a 500 from an exception are counted too."""

    def __init__(
        self, app: ASGIApp, *, metrics: HttpMetrics, fixed_paths: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.fixed_paths = fixed_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_unmeasured(scope["path"]):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception, or an app that returned without answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except BaseException:
            status = 500
            raise
        finally:
            self.metrics.observe(
                method_label(scope["method"]),
                route_label(scope, self.fixed_paths),
                status_label(status),
                time.perf_counter() - started,
            )


class Measured(Protocol):
    """What the runtime metrics read of a service process (a Runtime)."""

    @property
    def settings(self) -> ServiceSettings: ...
    @property
    def engine(self) -> AsyncEngine: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def consumers(self) -> list[ConsumerLoop]: ...
    @property
    def relay(self) -> OutboxRelay | None: ...


class RuntimeMetrics(Collector):
    """Events consumed, dead-lettered and published, consumer lag, outbox backlog and the
    health of the relay and consumers of one Runtime."""

    def __init__(self, runtime: Measured) -> None:
        self.runtime = runtime
        self.backlog: Backlog | None = None
        self.refreshed: dict[str, float] = {}  # source -> wall time of the last measurement
        self.refresh_errors: dict[str, int] = {"outbox": 0, "consumer_lag": 0}

    @property
    def interval_s(self) -> float:
        return self.runtime.settings.metrics_refresh_ms / 1000

    async def run(self, stop: asyncio.Event) -> None:
        """Measure until stopped; a failed measurement keeps the previous value and counts."""
        while not stop.is_set():
            await self.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)

    async def refresh(self) -> None:
        timeout = max(self.interval_s, 1.0)
        try:
            async with asyncio.timeout(timeout):
                async with self.runtime.engine.connect() as conn:
                    self.backlog = await measure_backlog(conn, self.runtime.outbox.table)
            self.refreshed["outbox"] = time.time()
        except Exception as exc:
            self.refresh_errors["outbox"] += 1
            log.warning("outbox backlog not measured", error=repr(exc))
        try:
            async with asyncio.timeout(timeout):
                for loop in self.runtime.consumers:
                    await loop.refresh_lag()
            self.refreshed["consumer_lag"] = time.time()
        except Exception as exc:
            self.refresh_errors["consumer_lag"] += 1
            log.warning("consumer lag not measured", error=repr(exc))

    def collect(self) -> Iterator[Metric]:
        yield from self._consumed()
        yield from self._outbox()
        refreshed = GaugeMetricFamily(
            "liandong_metrics_refresh_timestamp_seconds",
            "When the outbox backlog / consumer lag were last measured (absent: not yet)",
            labels=["source"],
        )
        for source, at in sorted(self.refreshed.items()):
            refreshed.add_metric([source], at)
        yield refreshed
        errors = CounterMetricFamily(
            "liandong_metrics_refresh_errors",
            "Measurements of the outbox backlog / consumer lag that failed",
            labels=["source"],
        )
        for source, count in sorted(self.refresh_errors.items()):
            errors.add_metric([source], count)
        yield errors

    def _consumed(self) -> Iterator[Metric]:
        consumed = CounterMetricFamily(
            "liandong_events_consumed",
            "Events taken from Kafka, by topic, event type and outcome "
            "(ok, duplicate, dead_lettered; retried counts failed attempts that were retried)",
            labels=["topic", "type", "outcome"],
        )
        dead = CounterMetricFamily(
            "liandong_events_dead_lettered",
            "Records this process sent to <topic>.dlq, by consumed topic and reason "
            "(undecodable, unhandled_type, handler_failed)",
            labels=["topic", "reason"],
        )
        lag = GaugeMetricFamily(
            "liandong_consumer_lag",
            "Records in an assigned partition after the group's committed offset "
            "(end offset - committed offset), at the last measurement",
            labels=["topic", "partition"],
        )
        up = GaugeMetricFamily(
            "liandong_consumer_up",
            "1 when the consumer loop of these topics is working, else 0",
            labels=["topics"],
        )
        outcomes: dict[tuple[str, str, str], int] = {}
        dead_letters: dict[tuple[str, str], int] = {}
        lags: dict[tuple[str, int], int] = {}
        for loop in self.runtime.consumers:
            for key, count in loop.outcomes.items():
                outcomes[key] = outcomes.get(key, 0) + count
            for dead_key, count in loop.dead_letters.items():
                dead_letters[dead_key] = dead_letters.get(dead_key, 0) + count
            for tp, records in loop.lag.items():
                lags[(tp.topic, tp.partition)] = records
            up.add_metric([",".join(loop.topics)], 1 if loop.healthy else 0)
        for (topic, event_type, outcome), count in sorted(outcomes.items()):
            consumed.add_metric([topic, event_type, outcome], count)
        for (topic, reason), count in sorted(dead_letters.items()):
            dead.add_metric([topic, reason], count)
        for (topic, partition), records in sorted(lags.items()):
            lag.add_metric([topic, str(partition)], records)
        yield consumed
        yield dead
        yield lag
        yield up

    def _outbox(self) -> Iterator[Metric]:
        relay = self.runtime.relay
        published = CounterMetricFamily(
            "liandong_events_published",
            "Events the outbox relay of this process published to Kafka, by topic",
            labels=["topic"],
        )
        if relay is not None:
            for topic, count in sorted(relay.published.items()):
                published.add_metric([topic], count)
        yield published
        yield GaugeMetricFamily(
            "liandong_outbox_relay_up",
            "1 when the outbox relay's last attempt succeeded and no batch has waited on Kafka "
            "longer than the consumer session timeout, else 0",
            value=1 if relay is not None and relay.healthy else 0,
        )
        yield CounterMetricFamily(
            "liandong_outbox_relay_failures",
            "Outbox relay attempts that failed (database or Kafka unavailable)",
            value=relay.failures if relay is not None else 0,
        )
        last = relay.last_success if relay is not None else None
        yield GaugeMetricFamily(
            "liandong_outbox_relay_last_success_timestamp_seconds",
            "When the outbox relay last completed an attempt (0: not yet)",
            value=last or 0,
        )
        if self.backlog is not None:
            yield GaugeMetricFamily(
                "liandong_outbox_backlog",
                "Outbox rows of this service's schema not yet published "
                f"(counted up to {self.backlog.cap})",
                value=self.backlog.rows,
            )
            yield GaugeMetricFamily(
                "liandong_outbox_oldest_age_seconds",
                "Age of the oldest unpublished outbox row (0 when none)",
                value=self.backlog.oldest_age_s,
            )
