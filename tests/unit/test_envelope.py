import json
import uuid
from datetime import UTC, datetime

import pytest

from contracts.envelope import EnvelopeError, decode, encode
from contracts.events import DemandStatus, DemandStatusChanged, TaskSigned

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _status_event():
    return DemandStatusChanged(
        demand_id=uuid.uuid4(), occurred_at=NOW, status=DemandStatus.assigned
    )


def test_event_round_trips_through_binary_mode_headers():
    event = _status_event()
    message = encode(event, source="/liandong/routing", event_id="e-1")
    headers = dict(message.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"cn.liandong.demand.status-changed.v1"
    assert headers["ce_id"] == b"e-1"
    assert headers["content-type"] == b"application/json"
    assert message.topic == "demand.status"
    assert message.key == str(event.demand_id).encode()
    envelope, decoded = decode(message.headers, message.value)
    assert decoded == event
    assert envelope.demand_id == str(event.demand_id)


def test_task_event_carries_unit_and_department_headers_and_task_key():
    task_id = uuid.uuid4()
    event = TaskSigned(
        demand_id=uuid.uuid4(),
        occurred_at=NOW,
        task_id=task_id,
        department_id="330502000000.urban-management",
        unit_code="330502000000",
        actor="clerk",
    )
    message = encode(event, source="/liandong/routing")
    headers = dict(message.headers)
    assert headers["ce_unitcode"] == b"330502000000"
    assert headers["ce_departmentid"] == b"330502000000.urban-management"
    assert message.topic == "tasks.3305.330502.330502000000.urban-management"
    assert message.key == str(task_id).encode()


def test_missing_headers_are_named():
    with pytest.raises(EnvelopeError, match="ce_id, ce_type"):
        decode(
            [
                ("ce_specversion", b"1.0"),
                ("ce_source", b"x"),
                ("ce_time", NOW.isoformat().encode()),
            ],
            b"{}",
        )


def test_unknown_type_is_refused():
    message = encode(_status_event(), source="x")
    headers = [(k, b"cn.liandong.nope.v9" if k == "ce_type" else v) for k, v in message.headers]
    with pytest.raises(EnvelopeError, match="unknown event type"):
        decode(headers, message.value)


def test_invalid_body_names_the_field():
    message = encode(_status_event(), source="x")
    body = json.loads(message.value)
    body["status"] = "teleported"
    with pytest.raises(EnvelopeError, match='"field": "status"'):
        decode(message.headers, json.dumps(body).encode())


def test_unexpected_body_field_is_refused():
    message = encode(_status_event(), source="x")
    body = json.loads(message.value) | {"citizen_phone": "13800000000"}
    with pytest.raises(EnvelopeError, match="citizen_phone"):
        decode(message.headers, json.dumps(body).encode())


def test_header_and_body_must_agree_on_the_demand():
    message = encode(_status_event(), source="x")
    headers = [(k, b"not-the-same" if k == "ce_demandid" else v) for k, v in message.headers]
    with pytest.raises(EnvelopeError, match="does not match"):
        decode(headers, message.value)


def test_a_header_without_value_counts_as_absent_unless_required():
    # Kafka allows a null header value (aiokafka gives None); an optional attribute or an
    # unknown header without value is as if absent, a required attribute is named.
    event = _status_event()
    message = encode(event, source="x")
    absent = ("ce_subject", "ce_demandid", "content-type")
    optional = [(k, None if k in absent else v) for k, v in message.headers]
    envelope, decoded = decode(
        [*optional, ("traceparent", None), ("ce_unitcode", None)], message.value
    )
    assert decoded == event
    assert (envelope.subject, envelope.demand_id, envelope.unit_code) == ("", "", None)
    for required in ("ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time"):
        headers = [(k, None if k == required else v) for k, v in message.headers]
        with pytest.raises(EnvelopeError, match=f"^header {required} has no value$"):
            decode(headers, message.value)
