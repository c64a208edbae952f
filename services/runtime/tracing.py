"""OpenTelemetry tracing: one trace per demand across HTTP, Kafka (`ce_traceparent`) and SQL.

Off unless `LIANDONG_OTEL_ENABLED`; then spans go by OTLP/HTTP to `LIANDONG_OTEL_ENDPOINT` (a
collector). The context crosses Kafka in the envelope's `ce_traceparent` header (CloudEvents'
distributed-tracing extension) and crosses the outbox in the row's stored headers: the event
continues the span that wrote it (an HTTP request, a consumed record), the relay's `publish` span
is that span's child, and the consumer's `process` span the publish span's child.

A consumer's batch runs several demands' records in one transaction, so the span an event
continues is looked up by its demand id first (`demand_spans`), then the current span.

Queries outside any trace (the relay's and the sweeper's polls, metrics) are not sampled, so
the collector gets traces of demands, not a flood of idle polls. Statements are recorded with
their placeholders, never their arguments (citizens' names and phone numbers).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from fastapi import FastAPI

    from contracts.envelope import Envelope
    from services.runtime.settings import ServiceSettings

_PROPAGATOR = TraceContextTextMapPropagator()
_TRACER_NAME = "liandong"
_provider: TracerProvider | None = None

# demand id -> the span its events continue, while a consumer's batch is applied.
demand_spans: ContextVar[Mapping[str, trace.Span] | None] = ContextVar("demand_spans", default=None)


class _UntracedQueriesDropped(Sampler):
    """A database span with no parent is a background poll: dropped. Anything else is
    sampled at the configured ratio (children follow their parent, see `ParentBased`)."""

    def __init__(self, ratio: float) -> None:
        self._ratio = TraceIdRatioBased(ratio)

    def should_sample(  # the SDK's signature
        self,
        parent_context: context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT and attributes and "db.system" in attributes:
            return SamplingResult(Decision.DROP)
        return self._ratio.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"UntracedQueriesDropped({self._ratio.get_description()})"


def enabled() -> bool:
    return _provider is not None


def build_provider(
    settings: ServiceSettings, service: str, *, exporter: SpanExporter | None = None
) -> TracerProvider:
    """The tracer provider of a process: OTLP/HTTP to the settings' collector, or `exporter`."""
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint.rstrip("/") + "/v1/traces")
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"liandong-{service}"}),
        sampler=ParentBased(root=_UntracedQueriesDropped(settings.otel_sample_ratio)),
    )
    provider.add_span_processor(
        BatchSpanProcessor(exporter, schedule_delay_millis=settings.otel_export_delay_ms)
    )
    return provider


def configure(settings: ServiceSettings, service: str) -> None:
    """Start tracing for this process when the settings ask for it (once: a process has one
    tracer provider, and asyncpg is instrumented for the whole process)."""
    global _provider  # one tracer provider per process, as OpenTelemetry has
    if _provider is not None or not settings.otel_enabled:
        return
    _provider = build_provider(settings, service)
    trace.set_tracer_provider(_provider)
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    instrumentor = AsyncPGInstrumentor(capture_parameters=False)  # type: ignore[no-untyped-call]
    instrumentor.instrument(tracer_provider=_provider)


def shutdown() -> None:
    """Export what is buffered (on a process's orderly stop)."""
    if _provider is not None:
        _provider.shutdown()


def instrument_app(app: FastAPI) -> None:
    """Server spans for every request but probes and scrapes, without query strings (they
    can carry tracking tokens)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls="/health,/metrics",
        server_request_hook=_drop_query_string,
        exclude_spans=["receive", "send"],
    )


def _drop_query_string(span: trace.Span, scope: Mapping[str, Any]) -> None:
    attributes: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    for name in ("http.target", "http.url", "url.full"):
        value = attributes.get(name)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(name, value.split("?", 1)[0])
    if "url.query" in attributes:
        span.set_attribute("url.query", "")


def traceparent_of(demand_id: str) -> str | None:
    """The `ce_traceparent` of an event of this demand written now: the span of the demand's
    record in the batch in hand, else the current span; None when nothing is traced."""
    if _provider is None:
        return None
    spans = demand_spans.get()
    span = spans.get(demand_id) if spans else None
    ctx = trace.set_span_in_context(span) if span is not None else None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=ctx)
    return carrier.get("traceparent")


def _parent(traceparent: str | None) -> context.Context | None:
    if traceparent is None:
        return None
    return _PROPAGATOR.extract({"traceparent": traceparent})


def start_publish(topic: str, event_id: str, traceparent: str | None) -> trace.Span | None:
    """The relay's span of one event sent to Kafka, a child of the span that wrote it; None
    for an event written outside any trace."""
    if _provider is None or traceparent is None:
        return None
    return _provider.get_tracer(_TRACER_NAME).start_span(
        f"publish {topic}",
        context=_parent(traceparent),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": topic,
            "messaging.operation.type": "send",
            "messaging.message.id": event_id,
        },
    )


def traceparent_header(span: trace.Span | None, stored: str | None) -> str | None:
    """What the record carries: the publish span's context, so the consumer is its child."""
    if span is None:
        return stored
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent", stored)


def start_process(envelope: Envelope) -> trace.Span | None:
    """A consumer's span of one record, continuing the trace of its `ce_traceparent`."""
    if _provider is None:
        return None
    return _provider.get_tracer(_TRACER_NAME).start_span(
        f"process {envelope.type}",
        context=_parent(envelope.traceparent),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.message.id": envelope.id,
            "cloudevents.event_type": envelope.type,
        },
    )


def end(span: trace.Span | None, error: BaseException | None = None) -> None:
    if span is None:
        return
    if error is not None:
        # The type only: a message could quote a record's content.
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.end()


@contextlib.contextmanager
def processing(envelope: Envelope) -> Iterator[None]:
    """One record handled on its own: its span is current, so its queries and the events it
    writes belong to it."""
    span = start_process(envelope)
    if span is None:
        yield
        return
    with trace.use_span(span, end_on_exit=False):
        try:
            yield
        except BaseException as exc:
            end(span, exc)
            raise
    end(span)


@contextlib.contextmanager
def processing_batch(envelopes: Sequence[Envelope]) -> Iterator[None]:
    """A batch applied in one transaction: a span per record, each found by its demand id when
    an event of that demand is written (`traceparent_of`)."""
    if _provider is None:
        yield
        return
    spans = [(envelope.demand_id, start_process(envelope)) for envelope in envelopes]
    # Two records of one demand in a batch: its events continue the later one.
    by_demand = {demand: span for demand, span in spans if span is not None}
    token = demand_spans.set(by_demand)
    error: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        error = exc
        raise
    finally:
        demand_spans.reset(token)
        for _, span in spans:
            end(span, error)
