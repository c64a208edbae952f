"""The consumer loop on a real broker and database: dead letters, retries, redelivery."""

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from contracts.envelope import encode
from contracts.events import DemandStatus, DemandStatusChanged
from contracts.topics import dlq
from services.intake.models import tables
from services.runtime.clock import FixedClock
from services.runtime.db import create_session_factory
from services.runtime.kafka import ConsumerLoop, Subscription, create_topics
from services.runtime.outbox import Outbox
from services.runtime.settings import ServiceSettings
from tests.conftest import AUTH_SECRET
from tests.kafka_helpers import eventually, header, produce, read_records

NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)


@pytest.fixture
async def topic(infra):
    name = f"test.loop-{uuid.uuid4().hex[:8]}"
    await create_topics(infra.kafka_bootstrap_servers, [name, dlq(name)], partitions=1)
    return name


def _settings(infra, **overrides):
    return ServiceSettings(
        database_url=infra.database_url,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        kafka_enable_idempotence=infra.idempotence,
        auth_secret=AUTH_SECRET,
        consumer_max_attempts=3,
        consumer_retry_backoff_ms=10,
        consumer_session_timeout_ms=6000,
        **overrides,
    )


async def _run_loop(infra, engine, topic, handler, batch_handler=None, loop_class=ConsumerLoop):
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap_servers, enable_idempotence=False
    )
    await producer.start()
    loop = loop_class(
        Subscription(
            name=f"test-{uuid.uuid4().hex[:8]}",
            topics=[topic],
            handlers={DemandStatusChanged: handler},
            batch_handlers={DemandStatusChanged: batch_handler} if batch_handler else None,
        ),
        sessions=create_session_factory(engine),
        inbox=tables.inbox,
        outbox=Outbox(tables.outbox, source="/test"),
        producer=producer,
        settings=_settings(infra),
        clock=FixedClock(NOW),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))

    async def finish():
        stop.set()
        await task
        await producer.stop()

    return loop, finish


def _status_message(topic, demand_id=None):
    event = DemandStatusChanged(
        demand_id=demand_id or uuid.uuid4(), occurred_at=NOW, status=DemandStatus.signed
    )
    message = encode(event, source="/test")
    return event, message


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_partition_moves_on(
    infra, engine, topic
):
    seen = []

    async def handler(delivery, event):
        seen.append(event.demand_id)

    bootstrap = infra.kafka_bootstrap_servers
    good_event, good = _status_message(topic)
    _, template = _status_message(topic)
    unknown_type = [
        (k, b"cn.liandong.unknown.v1" if k == "ce_type" else v) for k, v in template.headers
    ]
    bad_body = json.loads(template.value) | {"status": "teleported"}
    await produce(bootstrap, topic, value=b"not json at all", key=b"k", headers=[])
    await produce(bootstrap, topic, value=template.value, key=b"k", headers=unknown_type)
    await produce(
        bootstrap, topic, value=json.dumps(bad_body).encode(), key=b"k", headers=template.headers
    )
    await produce(bootstrap, topic, value=good.value, key=good.key, headers=good.headers)

    loop, finish = await _run_loop(infra, engine, topic, handler)
    try:
        await eventually(lambda: loop.processed == 1 and loop.dead_lettered == 3)
    finally:
        await finish()
    assert seen == [good_event.demand_id]
    dead = await read_records(bootstrap, [dlq(topic)], lambda r: True, count=3)
    errors = [str(header(r, "dlq_error")) for r in dead]
    assert "missing CloudEvents headers" in errors[0]
    assert "unknown event type" in errors[1]
    assert '"field": "status"' in errors[2]
    assert all(header(r, "dlq_topic") == topic for r in dead)
    assert [header(r, "dlq_offset") for r in dead] == ["0", "1", "2"]
    assert dead[1].value == template.value  # the original bytes are kept for replay


async def test_failing_handler_is_retried_then_dead_lettered(infra, engine, topic):
    calls = {"flaky": 0, "broken": 0}
    flaky_event, flaky = _status_message(topic)
    broken_event, broken = _status_message(topic)

    async def handler(delivery, event):
        if event.demand_id == flaky_event.demand_id:
            calls["flaky"] += 1
            if calls["flaky"] == 1:
                raise ValueError("first try fails")
        if event.demand_id == broken_event.demand_id:
            calls["broken"] += 1
            raise ValueError("always fails")

    for message in (broken, flaky):
        await produce(
            infra.kafka_bootstrap_servers,
            topic,
            value=message.value,
            key=message.key,
            headers=message.headers,
        )
    loop, finish = await _run_loop(infra, engine, topic, handler)
    try:
        await eventually(lambda: loop.processed == 1 and loop.dead_lettered == 1)
    finally:
        await finish()
    # The batch's single transaction failed first (one call of "broken"), then each record was
    # tried alone: "broken" three times (the configured attempts), "flaky" twice.
    assert calls == {"flaky": 2, "broken": 4}
    [dead] = await read_records(infra.kafka_bootstrap_servers, [dlq(topic)], lambda r: True)
    assert header(dead, "dlq_error") == "ValueError: always fails"
    assert header(dead, "dlq_attempts") == "3"


async def test_a_refused_query_argument_is_dead_lettered_without_its_value(infra, engine, topic):
    """asyncpg's message for an argument it cannot encode quotes the value (here a name and
    address); the dead-letter header keeps the error and drops the value."""
    secret = "张三住在月河街道南街十二号"

    async def handler(delivery, event):
        await delivery.session.execute(text("select cast(:x as bigint)"), {"x": secret})

    _, message = _status_message(topic)
    await produce(
        infra.kafka_bootstrap_servers,
        topic,
        value=message.value,
        key=message.key,
        headers=message.headers,
    )
    loop, finish = await _run_loop(infra, engine, topic, handler)
    try:
        await eventually(lambda: loop.dead_lettered == 1)
    finally:
        await finish()
    [dead] = await read_records(infra.kafka_bootstrap_servers, [dlq(topic)], lambda r: True)
    error = header(dead, "dlq_error")
    assert error is not None
    assert "invalid input for query argument $1: [value hidden]" in error
    assert secret[:4] not in error


async def test_redelivered_event_changes_nothing(infra, engine, topic):
    calls = []

    async def handler(delivery, event):
        calls.append(delivery.envelope.id)

    _, message = _status_message(topic)
    for _ in range(3):  # the same event id three times, as after a producer retry
        await produce(
            infra.kafka_bootstrap_servers,
            topic,
            value=message.value,
            key=message.key,
            headers=message.headers,
        )
    loop, finish = await _run_loop(infra, engine, topic, handler)
    try:
        await eventually(lambda: loop.processed == 3)
    finally:
        await finish()
    assert calls == [message.envelope.id]


async def _produce_statuses(infra, topic, count):
    events = []
    for _ in range(count):
        event, message = _status_message(topic)
        events.append(event.demand_id)
        await produce(
            infra.kafka_bootstrap_servers,
            topic,
            value=message.value,
            key=message.key,
            headers=message.headers,
        )
    return events


async def test_a_batch_handler_takes_the_batch_in_order_in_one_call(infra, engine, topic):
    one_by_one, batches = [], []

    async def handler(delivery, event):
        one_by_one.append(event.demand_id)

    async def batch_handler(delivery, events):
        batches.append([event.demand_id for event in events])

    produced = await _produce_statuses(infra, topic, 6)
    loop, finish = await _run_loop(infra, engine, topic, handler, batch_handler)
    try:
        await eventually(lambda: loop.processed == 6)
    finally:
        await finish()
    # All six were on the topic before the loop started, so its first fetch holds them all;
    # a fetch of a single record would take the careful path, one by one.
    batched = [demand for batch in batches for demand in batch]
    assert sorted(batched + one_by_one) == sorted(produced)  # each once
    assert batched == [demand for demand in produced if demand in batched]  # in order
    assert max(len(batch) for batch in batches) > 1


async def test_a_failing_batch_falls_back_to_the_handler_record_by_record(infra, engine, topic):
    one_by_one = []

    async def handler(delivery, event):
        one_by_one.append(event.demand_id)

    async def batch_handler(delivery, events):
        raise ValueError("the batch fails")

    produced = await _produce_statuses(infra, topic, 4)
    loop, finish = await _run_loop(infra, engine, topic, handler, batch_handler)
    try:
        await eventually(lambda: loop.processed == 4)
    finally:
        await finish()
    assert one_by_one == produced
    assert loop.dead_lettered == 0


async def test_a_header_without_value_dead_letters_its_record_and_spares_the_batch(
    infra, engine, topic
):
    # Kafka allows a header with a null value; aiokafka gives it as None. An optional header
    # (here an unknown one) without value is ignored; a required CloudEvents attribute without
    # value makes the record poison. Neither may cost the records around it.
    seen = []

    async def handler(delivery, event):
        seen.append(event.demand_id)

    bootstrap = infra.kafka_bootstrap_servers
    a_event, a = _status_message(topic)
    b_event, b = _status_message(topic)
    c_event, c = _status_message(topic)
    _, d = _status_message(topic)
    e_event, e = _status_message(topic)
    no_id = [(k, None if k == "ce_id" else v) for k, v in d.headers]
    await produce(bootstrap, topic, value=a.value, key=a.key, headers=a.headers)
    await produce(
        bootstrap, topic, value=b.value, key=b.key, headers=[*b.headers, ("traceparent", None)]
    )
    await produce(bootstrap, topic, value=c.value, key=c.key, headers=c.headers)
    await produce(bootstrap, topic, value=d.value, key=d.key, headers=no_id)
    await produce(bootstrap, topic, value=e.value, key=e.key, headers=e.headers)

    loop, finish = await _run_loop(infra, engine, topic, handler)
    try:
        await eventually(lambda: loop.processed == 4 and loop.dead_lettered == 1)
    finally:
        await finish()
    assert seen == [a_event.demand_id, b_event.demand_id, c_event.demand_id, e_event.demand_id]
    [dead] = await read_records(bootstrap, [dlq(topic)], lambda r: True)
    assert header(dead, "dlq_error") == "header ce_id has no value"
    assert header(dead, "dlq_offset") == "3"
    assert dead.value == d.value


class _FailingOnce(ConsumerLoop):
    """A consumer whose first partition batch fails after its first record, with an error the
    loop does not class (not poison, not an outage): a bug, a library's surprise."""

    failed = False

    async def _consume_partition(self, records, stop):
        if self.failed:
            return await super()._consume_partition(records, stop)
        self.failed = True
        await super()._consume_partition(records[:1], stop)  # its effect is committed
        raise RuntimeError("injected: the batch fails unexpectedly")


async def test_records_of_a_poll_that_failed_unexpectedly_are_redelivered(infra, engine, topic):
    calls = []

    async def handler(delivery, event):
        calls.append(event.demand_id)

    produced = await _produce_statuses(infra, topic, 4)
    loop, finish = await _run_loop(infra, engine, topic, handler, loop_class=_FailingOnce)
    try:
        # The first record again (a duplicate the inbox drops), then the three others.
        await eventually(lambda: loop.failed and loop.processed == 5)
    finally:
        await finish()
    assert calls == produced  # each handled once, in order, none skipped
    assert loop.dead_lettered == 0
