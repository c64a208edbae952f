"""Tracing in one process with an in-memory exporter: the trace context crosses the outbox row,
the relay's publish span and the consumer's process span; a batch keeps each demand's trace."""

import uuid
from datetime import UTC, datetime

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import MetaData

from contracts.envelope import Envelope, decode, encode
from contracts.events import DemandStatus, DemandStatusChanged
from services.runtime import tracing
from services.runtime.outbox import Outbox, outbox_table
from services.runtime.settings import ServiceSettings

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _settings(**overrides):
    return ServiceSettings(
        database_url="postgresql://u:p@localhost/liandong",
        kafka_bootstrap_servers="localhost:9092",
        auth_secret="s" * 32,
        **overrides,
    )


@pytest.fixture
def exported(monkeypatch):
    """Tracing on for this test only, spans kept in memory (never the process's global one)."""
    exporter = InMemorySpanExporter()
    provider = tracing.build_provider(_settings(otel_export_delay_ms=10), "test", exporter=exporter)
    monkeypatch.setattr(tracing, "_provider", provider)
    yield lambda: (provider.force_flush(), exporter.get_finished_spans())[1]
    provider.shutdown()


def _tracer():
    provider = tracing._provider
    assert provider is not None
    return provider.get_tracer("test")


def _traceparent(headers):
    value = dict(headers)["ce_traceparent"]
    assert value is not None
    return value


def _outbox():
    return Outbox(outbox_table(MetaData(schema="test")), source="/liandong/test")


def _event(demand_id=None):
    return DemandStatusChanged(
        demand_id=demand_id or uuid.uuid4(), occurred_at=NOW, status=DemandStatus.assigned
    )


def _headers(row):
    return [(name, value.encode()) for name, value in row["headers"]]


def test_envelope_carries_traceparent_as_the_distributed_tracing_extension():
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    message = encode(_event(), source="/liandong/test", traceparent=traceparent)
    assert dict(message.headers)["ce_traceparent"] == traceparent.encode()
    envelope, _ = decode(message.headers, message.value)
    assert envelope.traceparent == traceparent


def test_without_tracing_no_traceparent_is_written():
    assert not tracing.enabled()
    row = _outbox().values(_event())
    assert "ce_traceparent" not in dict(row["headers"])


def test_one_trace_from_request_through_outbox_relay_and_consumer(exported):
    outbox = _outbox()
    tracer = _tracer()
    demand_id = uuid.uuid4()
    with tracer.start_as_current_span("POST /v1/demands", kind=SpanKind.SERVER) as request:
        row = outbox.values(_event(demand_id))  # written in the request's transaction
    stored = dict(row["headers"])["ce_traceparent"]
    assert stored.split("-")[1] == format(request.get_span_context().trace_id, "032x")

    # The relay, later and outside the request: a publish span, child of the writer's.
    publish = tracing.start_publish(row["topic"], str(row["event_id"]), stored)
    sent = tracing.traceparent_header(publish, stored)
    tracing.end(publish)
    assert sent is not None
    headers = [(n, (sent if n == "ce_traceparent" else v).encode()) for n, v in row["headers"]]

    # The consumer, in another service: its process span continues the record's context,
    # and the event its handler writes continues the process span.
    envelope = Envelope.from_headers(headers)
    with tracing.processing(envelope):
        onward = outbox.values(_event(demand_id))

    spans = {span.name: span for span in exported()}
    trace_ids = {span.context.trace_id for span in spans.values()}
    assert trace_ids == {request.get_span_context().trace_id}
    publish_span = spans[f"publish {row['topic']}"]
    process_span = spans[f"process {DemandStatusChanged.TYPE}"]
    assert publish_span.kind is SpanKind.PRODUCER
    assert publish_span.parent.span_id == request.get_span_context().span_id
    assert process_span.kind is SpanKind.CONSUMER
    assert process_span.parent.span_id == publish_span.context.span_id
    onward_parent = dict(onward["headers"])["ce_traceparent"].split("-")[2]
    assert onward_parent == format(process_span.context.span_id, "016x")


def test_a_batch_keeps_each_demands_trace(exported):
    outbox = _outbox()
    tracer = _tracer()
    envelopes = []
    for _ in range(2):
        with tracer.start_as_current_span("POST /v1/demands"):
            message = encode(
                _event(), source="/liandong/test", traceparent=tracing.traceparent_of("")
            )
        envelopes.append(Envelope.from_headers(message.headers))
    with tracing.processing_batch(envelopes):
        rows = [outbox.values(_event(uuid.UUID(e.demand_id))) for e in reversed(envelopes)]

    for envelope, row in zip(reversed(envelopes), rows, strict=True):
        written = dict(row["headers"])["ce_traceparent"]
        assert envelope.traceparent is not None
        assert written.split("-")[1] == envelope.traceparent.split("-")[1]
    processed = [span for span in exported() if span.kind is SpanKind.CONSUMER]
    assert len(processed) == 2
    assert len({span.context.trace_id for span in processed}) == 2


def test_a_failed_record_ends_its_span_as_an_error(exported):
    message = encode(_event(), source="/liandong/test")
    with pytest.raises(RuntimeError), tracing.processing(Envelope.from_headers(message.headers)):
        raise RuntimeError("handler failed")
    (span,) = exported()
    assert span.status.status_code is trace.StatusCode.ERROR
    assert span.status.description == "RuntimeError"  # never the message: it may quote data


def test_background_queries_are_not_traced_but_a_requests_are(exported):
    tracer = _tracer()
    db = {"db.system": "postgresql"}
    with tracer.start_as_current_span("poll", kind=SpanKind.CLIENT, attributes=db) as poll:
        assert not poll.is_recording()
    with (
        tracer.start_as_current_span("GET /v1/tasks", kind=SpanKind.SERVER),
        tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT, attributes=db) as query,
    ):
        assert query.is_recording()
    assert sorted(span.name for span in exported()) == ["GET /v1/tasks", "SELECT"]
