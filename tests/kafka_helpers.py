"""Plain aiokafka helpers for tests: read a topic the way a department's consumer would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from services.runtime.db import SessionFactory
from services.runtime.outbox import Outbox, OutboxRelay


async def read_records(
    bootstrap: str,
    topics: list[str],
    predicate: Callable[[ConsumerRecord[bytes, bytes]], bool],
    *,
    count: int = 1,
    timeout_s: float = 20,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read from the beginning (no group) until `count` records match, or fail on timeout."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(found) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(found)} of {count} matching records on {topics}")
            batch = await consumer.getmany(timeout_ms=300)
            found.extend(r for records in batch.values() for r in records if predicate(r))
    finally:
        await consumer.stop()
    return found


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers:
        if key == name:
            decoded: str = value.decode()
            return decoded
    return None


async def produce(
    bootstrap: str,
    topic: str,
    *,
    value: bytes | None,
    key: bytes,
    headers: Sequence[tuple[str, bytes | None]],
) -> tuple[int, int]:
    """Send one record; returns (partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        metadata = await producer.send_and_wait(topic, value=value, key=key, headers=headers)
        return int(metadata.partition), int(metadata.offset)
    finally:
        await producer.stop()


async def eventually(
    check: Callable[[], Any], *, timeout_s: float = 20, interval_s: float = 0.1
) -> Any:
    """Poll an async or sync check until it returns a truthy value."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval_s)


async def publish_outbox(
    bootstrap_servers: str, outbox: Outbox, sessions: SessionFactory, *, batch_size: int = 100
) -> OutboxRelay:
    """Publish every unpublished row of the outbox, as the service's relay would; the relay
    (its counts of what it published)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=False)
    await producer.start()
    try:
        relay = OutboxRelay(
            outbox=outbox,
            sessions=sessions,
            producer=producer,
            interval_s=0.1,
            batch_size=batch_size,
        )
        while await relay.publish_batch():
            pass
    finally:
        await producer.stop()
    return relay


def district_task_topics(district: str = "330502") -> list[str]:
    """The task topics of every department of a district (one topic per department): what a
    test reads to find a task whichever department of the district it went to."""
    from contracts.lists import load_lists
    from contracts.topics import department_topics

    return [t for t in department_topics(load_lists()) if t.startswith(f"tasks.3305.{district}.")]
