"""Readiness during a broker outage: a consumer whose broker stops answering reports itself
unhealthy within its session timeout (its getmany keeps returning empty batches without an
error), and healthy again once the broker is back. The test runs its own broker, so stopping
it touches no other test."""

import asyncio
import time
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from contracts.events import DemandStatusChanged
from services.intake.models import tables
from services.runtime.clock import FixedClock
from services.runtime.db import create_session_factory
from services.runtime.embedded import EmbeddedKafka
from services.runtime.kafka import ConsumerLoop, create_topics
from services.runtime.outbox import Outbox
from services.runtime.settings import ServiceSettings
from tests.conftest import AUTH_SECRET
from tests.kafka_helpers import eventually

SESSION_TIMEOUT_MS = 1000


@pytest.fixture
def broker(tmp_path):
    kafka = EmbeddedKafka(tmp_path / "tansu.log")
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
        name=f"test-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        handlers={DemandStatusChanged: handler},
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
        assert time.monotonic() - stopped <= SESSION_TIMEOUT_MS / 1000 + 3
        broker.start(port)
        await create_topics(broker.bootstrap_servers, [topic], partitions=1)
        await eventually(lambda: loop.healthy, timeout_s=20)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await producer.stop()
