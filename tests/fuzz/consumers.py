"""The Kafka consumers under hostile records: Hypothesis draws random, truncated and hostile
CloudEvents headers and bodies for every topic the services consume; every record must reach
`<topic>.dlq` from every consumer of its topic, with its error, and no service may crash.

Called by tests/fuzz/api.py on the system it started (`make fuzz`, `make fuzz-short`).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from contracts import topics
from contracts.envelope import REQUIRED_HEADERS, encode
from contracts.events import Channel, Citizen, DemandReceived, Location

# Every topic a service consumes, and the services that consume it.
CONSUMERS: dict[str, set[str]] = {
    topics.DEMAND_RECEIVED: {"classification"},
    topics.DEMAND_CLASSIFIED: {"routing", "feedback"},
    topics.DEMAND_EVALUATED: {"routing"},
    topics.DEMAND_STATUS: {"intake", "feedback"},
    topics.tasks_topic("330502000000", "330502000000.urban_management"): {"feedback"},
}
Headers = list[tuple[str, bytes | None]]


def _valid() -> tuple[Headers, bytes]:
    """A real event's headers and body: the raw material the strategies break."""
    event = DemandReceived(
        demand_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        channel=Channel.hotline,
        content="小区门口垃圾桶满了好几天没人清运",
        demand_type=None,
        location=Location(unit_code="330502001016"),
        citizen=Citizen(name="张三", phone="13800000000"),
    )
    message = encode(event, source="fuzz")
    return [(k, v) for k, v in message.headers], message.value


junk = st.binary(max_size=300)
text = st.text(max_size=80)


@st.composite
def broken_headers(draw: st.DrawFn) -> Headers:
    """A real event's headers with at least one required header broken."""
    headers, _ = _valid()
    broken = draw(st.sampled_from(REQUIRED_HEADERS))
    how = draw(st.sampled_from(["drop", "none", "not-utf8", "empty", "junk"]))
    if how == "junk" and broken in ("ce_id", "ce_source"):
        how = "drop"  # any text is a valid id or source
    found: Headers = [(k, v) for k, v in headers if k != broken]
    if how == "none":
        found.append((broken, None))
    elif how == "not-utf8":
        found.append((broken, b"\xff\xfe" + draw(junk)))
    elif how == "empty":
        found.append((broken, b""))
    elif how == "junk":
        # Not a version, an event type or a time (a random text never is one).
        value = draw(text.filter(lambda t: t not in ("1.0", "")))
        found.append((broken, ("x-" + value).encode()))
    # Foreign headers beside it, with any value or none.
    foreign = text.filter(lambda t: not t.startswith("ce_") and t != "content-type")
    found += draw(st.lists(st.tuples(foreign, st.one_of(st.none(), junk)), max_size=4))
    return found


@st.composite
def broken_body(draw: st.DrawFn) -> bytes | None:
    """A body that is not a valid event of the type its headers name."""
    _, body = _valid()
    kind = draw(st.sampled_from(["none", "junk", "truncated", "array", "deep", "wrong", "extra"]))
    if kind == "none":
        return None
    if kind == "junk":
        return draw(junk)
    if kind == "truncated":
        return body[: draw(st.integers(0, len(body) - 1))]
    if kind == "array":
        return json.dumps(draw(st.lists(st.integers(), max_size=5))).encode()
    if kind == "deep":
        depth = draw(st.integers(100, 20_000))
        return b"[" * depth + b"]" * depth
    data = json.loads(body)
    if kind == "wrong":
        field = draw(st.sampled_from(sorted(data)))
        # An object where no field takes one (an integer would pass as a time).
        data[field] = {"fuzz": draw(st.lists(st.integers(), max_size=2))}
    else:
        data[draw(text.filter(lambda t: t not in data))] = draw(text)
    return json.dumps(data, ensure_ascii=False).encode()


@st.composite
def hostile_records(draw: st.DrawFn) -> tuple[str, Headers, bytes | None]:
    topic = draw(st.sampled_from(sorted(CONSUMERS)))
    headers, body = _valid()
    if draw(st.booleans()):
        return topic, draw(broken_headers()), draw(st.one_of(st.just(body), broken_body()))
    return topic, headers, draw(broken_body())


def draw_records(count: int, drawn_with: int) -> list[tuple[str, Headers, bytes | None]]:
    """`count` hostile records, the same ones for the same seed."""
    drawn: list[tuple[str, Headers, bytes | None]] = []

    @seed(drawn_with)
    @settings(
        max_examples=count,
        database=None,
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(hostile_records())
    def collect(record: tuple[str, Headers, bytes | None]) -> None:
        drawn.append(record)

    collect()
    return drawn[:count]


async def fuzz_consumers(bootstrap: str, *, count: int, seed: int, timeout_s: float) -> list[str]:
    """Send `count` hostile records; the problems found (none is a pass)."""
    records = draw_records(count, seed)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    sent: dict[str, str] = {}  # key → topic
    try:
        for n, (topic, headers, value) in enumerate(records):
            key = f"fuzz-{seed}-{n}"
            await producer.send_and_wait(
                topic,
                value=value,
                key=key.encode(),
                headers=[(k, v if v is not None else b"") for k, v in headers],
            )
            sent[key] = topic
    finally:
        await producer.stop()

    expected = {key: set(CONSUMERS[topic]) for key, topic in sent.items()}
    seen: dict[str, set[str]] = defaultdict(set)
    problems: list[str] = []
    # A pattern: a dead-letter topic the broker lacks is a problem reported below, not a crash.
    dlqs = "|".join(re.escape(topics.dlq(t)) for t in CONSUMERS)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"fuzz-{uuid.uuid4().hex[:8]}",
        metadata_max_age_ms=2000,
    )
    consumer.subscribe(pattern=f"^({dlqs})$")
    await consumer.start()
    deadline = time.monotonic() + timeout_s
    try:
        while any(seen[k] != v for k, v in expected.items()) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for record in (r for rs in batch.values() for r in rs):
                key = (record.key or b"").decode(errors="replace")
                if key not in expected:
                    continue
                about = dict(record.headers)
                service = about.get("dlq_consumer", b"").decode().removeprefix("liandong-")
                if not about.get("dlq_error"):
                    problems.append(f"{key} in {record.topic} without its error")
                seen[key].add(service)
    finally:
        await consumer.stop()
    for key, services in expected.items():
        if seen[key] != services:
            problems.append(
                f"{key} on {sent[key]}: dead-lettered by {sorted(seen[key])}, "
                f"expected by {sorted(services)}"
            )
    return problems


def run(bootstrap: str, *, count: int, seed: int = 22, timeout_s: float = 120) -> list[str]:
    return asyncio.run(fuzz_consumers(bootstrap, count=count, seed=seed, timeout_s=timeout_s))
