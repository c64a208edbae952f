"""Metric labels come from route templates and code-defined sets, never from request or record
content: no ids, tokens, phone numbers or sender-chosen text become label values."""

import re
import uuid
from types import SimpleNamespace

import httpx
from aiokafka import ConsumerRecord, TopicPartition
from fastapi import APIRouter
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from contracts.envelope import encode
from contracts.events import DemandStatus, DemandStatusChanged, DemandTriaged, Location
from services.intake.models import tables
from services.runtime.clock import FixedClock
from services.runtime.http import create_service_app
from services.runtime.kafka import ConsumerLoop, Subscription
from services.runtime.metrics import route_label
from services.runtime.outbox import Outbox
from services.runtime.service import Runtime
from services.runtime.settings import ServiceSettings
from tests.unit.test_auth_and_logging import NOW

SECRET = "s" * 32
DEMAND_ID = str(uuid.uuid4())
TOKEN = "trk.eyJkZW1hbmQiOiJ4In0.c2lnbmF0dXJl"
PHONE = "13812345678"


def _settings(**overrides):
    return ServiceSettings(
        database_url="postgresql://nobody@127.0.0.1:1/none",
        kafka_bootstrap_servers="127.0.0.1:1",
        auth_secret=SECRET,
        max_body_bytes=1024,
        **overrides,
    )


def _runtime():
    return Runtime(service="test", settings=_settings(), tables=tables, clock=FixedClock(NOW))


def _app(runtime):
    router = APIRouter(prefix="/v1/demands")

    @router.get("/{demand_id}")
    async def track(demand_id: str, token: str) -> dict[str, str]:
        return {"demand_id": demand_id}

    @router.post("")
    async def submit(body: dict[str, str]) -> dict[str, str]:
        return body

    @router.get("/{demand_id}/broken")
    async def broken(demand_id: str) -> None:
        raise RuntimeError(f"failed for {demand_id}")

    open311 = APIRouter(prefix="/open311/v2")

    @open311.get("/requests/{service_request_id}.{ext}")
    async def one_request(service_request_id: str, ext: str) -> dict[str, str]:
        return {"id": service_request_id}

    app = create_service_app(runtime, title="t", description="d", routers=[router, open311])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def _samples(registry, name):
    """(labels, value) of every sample of a metric family in the exposition text."""
    text = generate_latest(registry).decode()
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def _requests(registry):
    return {
        (labels["method"], labels["route"], labels["status"]): value
        for labels, value in _samples(registry, "liandong_http_requests_total")
    }


async def test_requests_are_counted_by_route_template_not_by_path():
    runtime = _runtime()
    async with _app(runtime) as client:
        tracked = await client.get(f"/v1/demands/{DEMAND_ID}", params={"token": TOKEN})
        assert tracked.status_code == 200
        assert (await client.get(f"/v1/demands/{PHONE}")).status_code == 422  # no token
        assert (await client.post("/v1/demands", json={"phone": PHONE})).status_code == 200
        assert (await client.get(f"/open311/v2/requests/{DEMAND_ID}.xml")).status_code == 200
        assert (await client.get(f"/v1/demands/{DEMAND_ID}/broken")).status_code == 500
        assert (await client.get(f"/no/such/{DEMAND_ID}", params={"t": TOKEN})).status_code == 404
        assert (await client.delete(f"/v1/demands/{DEMAND_ID}")).status_code == 405
        too_big = await client.post(f"/v1/demands?{TOKEN}", content=b"x" * 2048)
        assert too_big.status_code == 413
        odd = await client.request(f"X{PHONE}", f"/v1/demands/{DEMAND_ID}")
        assert odd.status_code == 405
        await client.get("/metrics")
        assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 503  # no database
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/docs")).status_code == 200

    # Probes and scrapes are not counted (a not-ready 503 is no server error); the
    # documentation routes are counted under their paths.
    assert _requests(runtime.metrics) == {
        ("GET", "/v1/demands/{demand_id}", "2xx"): 1,
        ("GET", "/v1/demands/{demand_id}", "4xx"): 1,
        ("POST", "/v1/demands", "2xx"): 1,
        ("GET", "/open311/v2/requests/{service_request_id}.{ext}", "2xx"): 1,
        ("GET", "/v1/demands/{demand_id}/broken", "5xx"): 1,
        ("GET", "unmatched", "4xx"): 1,
        ("DELETE", "/v1/demands/{demand_id}", "4xx"): 1,
        ("POST", "unmatched", "4xx"): 1,  # refused by the body limit before routing
        ("OTHER", "/v1/demands/{demand_id}", "4xx"): 1,
        ("GET", "/openapi.json", "2xx"): 1,
        ("GET", "/docs", "2xx"): 1,
    }
    durations = _samples(runtime.metrics, "liandong_http_request_duration_seconds_count")
    assert len(durations) == 11
    assert all(value == 1 for _, value in durations)
    exposed = generate_latest(runtime.metrics).decode()
    for secret in (DEMAND_ID, TOKEN, PHONE, "/no/such"):
        assert secret not in exposed


async def test_metrics_endpoint_serves_the_runtime_registry():
    runtime = _runtime()
    async with _app(runtime) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    # The runtime's families are there before any traffic or measurement.
    for name in (
        "liandong_events_consumed",
        "liandong_events_published",
        "liandong_outbox_relay_up",
        "liandong_consumer_lag",
    ):
        assert re.search(rf"^# TYPE {name}(_total)? ", response.text, re.M), name


def test_a_route_label_is_a_template_or_unmatched():
    assert route_label({"type": "http", "path": f"/v1/demands/{DEMAND_ID}"}) == "unmatched"
    route = SimpleNamespace(path_format="/v1/tasks/{task_id}")
    assert route_label({"route": route, "path": "/v1/tasks/t-1"}) == "/v1/tasks/{task_id}"
    docs = frozenset({"/docs", "/openapi.json"})
    assert route_label({"type": "http", "path": "/docs"}, docs) == "/docs"
    assert route_label({"type": "http", "path": "/docs/x"}, docs) == "unmatched"


class _Producer:
    def __init__(self):
        self.sent = []

    async def send_and_wait(self, topic, **kwargs):
        self.sent.append(topic)


def _loop():
    async def handler(delivery, event):
        raise AssertionError("not reached")

    return ConsumerLoop(
        Subscription(
            name="liandong-test", topics=["demand.status"], handlers={DemandStatusChanged: handler}
        ),
        sessions=_runtime().sessions,
        inbox=tables.inbox,
        outbox=Outbox(tables.outbox, source="/test"),
        producer=_Producer(),
        settings=_settings(),
        clock=FixedClock(NOW),
    )


def _record(value, headers, offset=0):
    return ConsumerRecord(
        topic="demand.status",
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"k",
        value=value,
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=len(value),
        headers=headers,
    )


async def test_poison_records_are_counted_without_their_sender_chosen_type():
    loop = _loop()
    message = encode(
        DemandStatusChanged(demand_id=uuid.uuid4(), occurred_at=NOW, status=DemandStatus.signed),
        source="/test",
    )
    phone_type = [
        (k, f"cn.liandong.{PHONE}.v1".encode() if k == "ce_type" else v) for k, v in message.headers
    ]
    broken_body = message.value.replace(b'"signed"', b'"teleported"')
    triaged = encode(
        DemandTriaged(
            demand_id=uuid.uuid4(),
            occurred_at=NOW,
            reason="low confidence",
            content=f"call me on {PHONE}",
            location=Location(unit_code="330502001016"),
        ),
        source="/test",
    )
    stop = SimpleNamespace(is_set=lambda: False)
    await loop._consume(_record(b"not json", []), stop)
    await loop._consume(_record(message.value, phone_type, 1), stop)
    await loop._consume(_record(broken_body, list(message.headers), 2), stop)
    await loop._consume(_record(triaged.value, list(triaged.headers), 3), stop)
    assert loop.dead_lettered == 4
    assert loop.producer.sent == ["demand.status.dlq"] * 4

    runtime = _runtime()
    runtime.consumers.append(loop)
    loop.lag = {TopicPartition("demand.status", 0): 7}
    consumed = {
        (labels["topic"], labels["type"], labels["outcome"]): value
        for labels, value in _samples(runtime.metrics, "liandong_events_consumed_total")
    }
    assert consumed == {
        ("demand.status", "unknown", "dead_lettered"): 3,
        ("demand.status", "cn.liandong.demand.status-changed.v1", "dead_lettered"): 1,
    }
    reasons = {
        labels["reason"]: value
        for labels, value in _samples(runtime.metrics, "liandong_events_dead_lettered_total")
    }
    assert reasons == {"undecodable": 3, "unhandled_type": 1}
    assert _samples(runtime.metrics, "liandong_consumer_lag") == [
        ({"topic": "demand.status", "partition": "0"}, 7)
    ]
    assert PHONE not in generate_latest(runtime.metrics).decode()


async def test_a_record_that_fails_to_decode_in_any_way_is_dead_lettered():
    # A surprise while decoding (here a header value that is not bytes) is the record's fault:
    # dead-lettered with the error, never raised into the loop (which would skip its batch).
    loop = _loop()
    stop = SimpleNamespace(is_set=lambda: False)
    await loop._consume(_record(b"{}", [("ce_id", 7)]), stop)
    assert loop.dead_lettered == 1
    assert loop.dead_letters == {("demand.status", "undecodable"): 1}


def test_the_event_type_label_is_a_handled_type():
    loop = _loop()
    message = encode(
        DemandStatusChanged(demand_id=uuid.uuid4(), occurred_at=NOW, status=DemandStatus.assigned),
        source="/test",
    )
    assert loop.type_label(_record(message.value, list(message.headers))) == (
        DemandStatusChanged.TYPE
    )
    assert loop.type_label(_record(b"", [("ce_type", b"evil\n}")])) == "unknown"
    assert loop.type_label(_record(b"", [])) == "unknown"


async def test_a_failed_measurement_is_counted_and_the_last_value_kept():
    runtime = _runtime()  # its database does not answer
    await runtime.runtime_metrics.refresh()
    assert runtime.runtime_metrics.refresh_errors == {"outbox": 1, "consumer_lag": 0}
    assert runtime.runtime_metrics.backlog is None
    errors = {
        labels["source"]: value
        for labels, value in _samples(runtime.metrics, "liandong_metrics_refresh_errors_total")
    }
    assert errors == {"outbox": 1, "consumer_lag": 0}
    assert _samples(runtime.metrics, "liandong_outbox_backlog") == []
    await runtime.engine.dispose()
