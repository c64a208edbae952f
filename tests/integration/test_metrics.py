"""The measured metrics on a real broker and database: consumer lag follows the committed
offset, the outbox backlog counts unpublished rows and drains with the relay."""

import asyncio
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer, TopicPartition

from contracts.envelope import encode
from contracts.events import DemandStatus, DemandStatusChanged
from contracts.topics import dlq
from services.intake.models import tables
from services.runtime.clock import FixedClock
from services.runtime.db import create_session_factory
from services.runtime.kafka import ConsumerLoop, Subscription, create_topics
from services.runtime.outbox import Outbox, measure_backlog
from services.runtime.settings import ServiceSettings
from tests.conftest import AUTH_SECRET
from tests.kafka_helpers import eventually, produce, publish_outbox

NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)


def _event():
    return DemandStatusChanged(demand_id=uuid.uuid4(), occurred_at=NOW, status=DemandStatus.signed)


async def test_consumer_lag_counts_the_records_after_the_committed_offset(infra, engine):
    topic = f"test.lag-{uuid.uuid4().hex[:8]}"
    bootstrap = infra.kafka_bootstrap_servers
    await create_topics(bootstrap, [topic, dlq(topic)], partitions=1)
    for _ in range(5):
        message = encode(_event(), source="/test")
        await produce(bootstrap, topic, value=message.value, key=b"k", headers=message.headers)
    release = asyncio.Event()

    async def handler(delivery, event):
        await release.wait()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    loop = ConsumerLoop(
        Subscription(
            name=f"test-{uuid.uuid4().hex[:8]}",
            topics=[topic],
            handlers={DemandStatusChanged: handler},
        ),
        sessions=create_session_factory(engine),
        inbox=tables.inbox,
        outbox=Outbox(tables.outbox, source="/test"),
        producer=producer,
        settings=ServiceSettings(
            database_url=infra.database_url,
            kafka_bootstrap_servers=bootstrap,
            kafka_enable_idempotence=infra.idempotence,
            auth_secret=AUTH_SECRET,
            consumer_session_timeout_ms=6000,
        ),
        clock=FixedClock(NOW),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    partition = TopicPartition(topic, 0)
    try:

        async def lag():
            await loop.refresh_lag()
            return loop.lag.get(partition)

        # The handler holds the first batch: nothing is committed, all five are behind.
        assert await eventually(lag, timeout_s=30) == 5
        release.set()
        await eventually(lambda: loop.processed == 5, timeout_s=20)

        async def caught_up():
            return await lag() == 0

        await eventually(caught_up, timeout_s=20)
        ok = {key: n for key, n in loop.outcomes.items() if key[2] == "ok"}
        assert ok == {(topic, DemandStatusChanged.TYPE, "ok"): 5}
    finally:
        stop.set()
        await task
        await producer.stop()
    assert loop.lag == {}  # a stopped loop reports no partitions


async def test_outbox_backlog_counts_unpublished_rows_and_the_relay_drains_it(infra, engine):
    sessions = create_session_factory(engine)
    outbox = Outbox(tables.outbox, source="/test")
    async with engine.connect() as conn:
        before = await measure_backlog(conn, tables.outbox)
    async with sessions() as session, session.begin():
        for _ in range(3):
            await outbox.put(session, _event())
    async with engine.connect() as conn:
        pending = await measure_backlog(conn, tables.outbox)
        capped = await measure_backlog(conn, tables.outbox, cap=2)
    assert pending.rows == before.rows + 3
    assert pending.oldest_age_s >= 0
    assert capped.rows == 2

    relay = await publish_outbox(infra.kafka_bootstrap_servers, outbox, sessions)
    assert relay.published["demand.status"] >= 3
    async with engine.connect() as conn:
        drained = await measure_backlog(conn, tables.outbox)
    assert (drained.rows, drained.oldest_age_s) == (0, 0)
