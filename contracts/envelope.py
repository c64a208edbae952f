"""CloudEvents 1.0 in Kafka binary content mode: attributes in `ce_*` headers, data in the value.

Extension attributes (lower-case alphanumerics, per the spec): `ce_demandid` (correlation id),
`ce_unitcode` and `ce_departmentid` (routing filters a consumer can read without the body), and
`ce_traceparent`, the W3C trace context of CloudEvents' distributed-tracing extension (present
when the producing process traces; see docs/tracing.md).

Kafka allows a header with a null value (aiokafka reads it as None). A required attribute
(`REQUIRED_HEADERS`) with no value makes the record invalid, naming the header; any other header
with no value (an optional attribute, `content-type`, a header of someone else's such as
`traceparent`) counts as absent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from contracts.events import EVENT_TYPES, Event

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"

Headers = list[tuple[str, bytes]]
# Headers as read from Kafka: a header may have no value.
ReceivedHeaders = Sequence[tuple[str, bytes | None]]

# The distributed-tracing extension's attribute; a malformed value is ignored by the tracer,
# never a reason to dead-letter an event.
TRACEPARENT_HEADER = "ce_traceparent"
REQUIRED_HEADERS = ("ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time")


class EnvelopeError(ValueError):
    """A message that is not a valid Liandong CloudEvent: it belongs on the dead-letter topic."""


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    type: str
    source: str
    time: datetime
    subject: str
    demand_id: str
    unit_code: str | None = None
    department_id: str | None = None
    traceparent: str | None = None

    def to_headers(self) -> Headers:
        headers: Headers = [
            ("ce_specversion", SPEC_VERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_type", self.type.encode()),
            ("ce_source", self.source.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("ce_subject", self.subject.encode()),
            ("ce_demandid", self.demand_id.encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.unit_code is not None:
            headers.append(("ce_unitcode", self.unit_code.encode()))
        if self.department_id is not None:
            headers.append(("ce_departmentid", self.department_id.encode()))
        if self.traceparent is not None:
            headers.append((TRACEPARENT_HEADER, self.traceparent.encode()))
        return headers

    @classmethod
    def from_headers(cls, headers: ReceivedHeaders) -> Envelope:
        values: dict[str, str] = {}
        for name, raw in headers:
            if raw is None:
                if name in REQUIRED_HEADERS:
                    raise EnvelopeError(f"header {name} has no value")
                continue  # an optional or foreign header without value: as if absent
            try:
                values[name] = raw.decode()
            except UnicodeDecodeError as exc:
                raise EnvelopeError(f"header {name} is not UTF-8") from exc
        missing = [name for name in REQUIRED_HEADERS if not values.get(name)]
        if missing:
            raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
        if values["ce_specversion"] != SPEC_VERSION:
            raise EnvelopeError(f"unsupported ce_specversion {values['ce_specversion']!r}")
        if values.get("content-type", CONTENT_TYPE) != CONTENT_TYPE:
            raise EnvelopeError(f"unsupported content-type {values['content-type']!r}")
        try:
            time = datetime.fromisoformat(values["ce_time"])
        except ValueError as exc:
            raise EnvelopeError(f"ce_time is not an RFC 3339 time: {values['ce_time']!r}") from exc
        return cls(
            id=values["ce_id"],
            type=values["ce_type"],
            source=values["ce_source"],
            time=time,
            subject=values.get("ce_subject", ""),
            demand_id=values.get("ce_demandid", ""),
            unit_code=values.get("ce_unitcode"),
            department_id=values.get("ce_departmentid"),
            traceparent=values.get(TRACEPARENT_HEADER),
        )


@dataclass(frozen=True, slots=True)
class Message:
    """One Kafka record of an event: topic, key, headers and JSON value."""

    topic: str
    key: bytes
    headers: Headers
    value: bytes
    envelope: Envelope


def encode(
    event: Event, *, source: str, event_id: str | None = None, traceparent: str | None = None
) -> Message:
    """Wrap an event into a Kafka record. `event_id` is stable so a re-send is de-duplicated;
    `traceparent` is the W3C trace context the event continues, if any."""
    envelope = Envelope(
        id=event_id or str(uuid.uuid4()),
        type=event.TYPE,
        source=source,
        time=event.occurred_at,
        subject=event.subject(),
        demand_id=str(event.demand_id),
        unit_code=event.target_unit_code(),
        department_id=event.target_department_id(),
        traceparent=traceparent,
    )
    return Message(
        topic=event.topic(),
        key=event.key().encode(),
        headers=envelope.to_headers(),
        value=event.model_dump_json().encode(),
        envelope=envelope,
    )


def decode(headers: ReceivedHeaders, value: bytes | None) -> tuple[Envelope, Event]:
    """Read a Kafka record back into its envelope and validated event, or raise EnvelopeError."""
    envelope = Envelope.from_headers(headers)
    model = EVENT_TYPES.get(envelope.type)
    if model is None:
        raise EnvelopeError(f"unknown event type {envelope.type!r}")
    if value is None:
        raise EnvelopeError("message has no value")
    try:
        event = model.model_validate_json(value)
    except ValidationError as exc:
        raise EnvelopeError(f"invalid {envelope.type} body: {_summary(exc)}") from exc
    if envelope.demand_id and envelope.demand_id != str(event.demand_id):
        raise EnvelopeError("ce_demandid does not match the body's demand_id")
    return envelope, event


def _summary(exc: ValidationError) -> str:
    return json.dumps(
        [{"field": ".".join(map(str, e["loc"])), "reason": e["msg"]} for e in exc.errors()],
        ensure_ascii=False,
    )
