"""Readiness during a broker outage: a consumer whose broker stops answering reports itself
unhealthy within its session timeout (its getmany keeps returning empty batches without an
error), and healthy again once the broker is back; so does an outbox relay whose sends hang.
The tests run their own broker (and outbox table), so stopping it touches no other test."""

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import MetaData, func, select, text

from contracts.events import DemandStatus, DemandStatusChanged
from services.intake.models import tables
from services.runtime.apache_kafka import EmbeddedApacheKafka
from services.runtime.clock import FixedClock
from services.runtime.db import create_session_factory
from services.runtime.embedded import EmbeddedKafka
from services.runtime.kafka import ConsumerLoop, Subscription, create_topics
from services.runtime.outbox import Outbox, OutboxRelay, outbox_table
from services.runtime.settings import ServiceSettings
from tests.conftest import AUTH_SECRET
from tests.kafka_helpers import eventually

SESSION_TIMEOUT_MS = 1000


@pytest.fixture
def broker(infra, tmp_path):
    """A broker of the suite's kind (Apache Kafka, or tansu on the fallback) for this test alone."""
    kafka: EmbeddedApacheKafka | EmbeddedKafka = (
        EmbeddedKafka(tmp_path / "tansu.log")
        if infra.broker == "tansu"
        else EmbeddedApacheKafka(tmp_path / "kafka")
    )
    kafka.start()
    yield kafka
    kafka.stop()


async def test_a_consumer_reports_a_broker_outage_and_the_recovery(infra, engine, broker):
    topic = f"test.outage-{uuid.uuid4().hex[:8]}"
    await create_topics(broker.bootstrap_servers, [topic], partitions=1)
    settings = ServiceSettings(
        database_url=infra.database_url,
        kafka_bootstrap_servers=broker.bootstrap_servers,
        kafka_enable_idempotence=False,
        auth_secret=AUTH_SECRET,
        consumer_session_timeout_ms=SESSION_TIMEOUT_MS,
    )
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()

    async def handler(delivery, event):
        pass

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
        settings=settings,
        clock=FixedClock(datetime(2026, 11, 26, 9, tzinfo=UTC)),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        await eventually(lambda: loop.healthy and loop._consumer and loop._consumer.assignment())
        await asyncio.sleep(1.5)  # a few heartbeats and empty polls: still healthy
        assert loop.healthy
        port = broker.port
        broker.stop()
        stopped = time.monotonic()
        await eventually(lambda: not loop.healthy, timeout_s=10)
        # The heartbeat (every session timeout / 5) finds the broker gone, then the bound.
        # (Slack for a loaded CI machine: the point is seconds, not the minute it took before.)
        assert time.monotonic() - stopped <= SESSION_TIMEOUT_MS / 1000 + 8
        broker.start(port)
        await create_topics(broker.bootstrap_servers, [topic], partitions=1)
        await eventually(lambda: loop.healthy, timeout_s=20)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await producer.stop()


async def test_the_outbox_relay_reports_sends_that_hang_on_a_broker_outage(engine, broker):
    schema = f"test_relay_{uuid.uuid4().hex[:8]}"
    table = outbox_table(MetaData(schema=schema))
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
        await conn.run_sync(table.metadata.create_all)
    outbox = Outbox(table, source="/test")
    sessions = create_session_factory(engine)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    relay = OutboxRelay(
        outbox=outbox,
        sessions=sessions,
        producer=producer,
        interval_s=0.05,
        batch_size=10,
        stalled_after_s=3.0,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    event = DemandStatusChanged(
        demand_id=uuid.uuid4(), occurred_at=datetime(2026, 11, 26, 9, tzinfo=UTC),
        status=DemandStatus.signed,
    )  # fmt: skip
    try:
        await create_topics(broker.bootstrap_servers, [event.topic()], partitions=1)
        port = broker.port
        broker.stop()
        async with sessions() as session, session.begin():
            await outbox.put_many(session, [event])
        outbox.notify()
        await eventually(lambda: relay._sending_since is not None, timeout_s=5)
        assert relay.healthy  # a send waiting less than the bound (3 s) is not a stall yet
        await eventually(lambda: not relay.healthy, timeout_s=8)  # the bound, not 40 s
        broker.start(port)
        await create_topics(broker.bootstrap_servers, [event.topic()], partitions=1)

        async def published():
            async with sessions() as session:
                unpublished = select(func.count()).where(table.c.published_at.is_(None))
                return await session.scalar(unpublished) == 0

        await eventually(published, timeout_s=60)
        await eventually(lambda: relay.healthy, timeout_s=5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await producer.stop()
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
