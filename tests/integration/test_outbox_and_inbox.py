"""Outbox relay and inbox against the real PostgreSQL and Kafka-protocol broker."""

import asyncio
import json
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from contracts import topics
from contracts.events import DemandStatus, DemandStatusChanged
from services.intake.models import tables
from services.runtime.db import create_session_factory
from services.runtime.inbox import record_first_delivery
from services.runtime.outbox import Outbox, OutboxRelay
from tests.kafka_helpers import header, publish_outbox, read_records

NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)


async def _producer(infra):
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap_servers, enable_idempotence=False
    )
    await producer.start()
    return producer


async def test_relay_publishes_in_commit_order_and_marks_rows_sent(infra, engine):
    sessions = create_session_factory(engine)
    outbox = Outbox(tables.outbox, source="/test")
    demand_id = uuid.uuid4()
    statuses = [
        DemandStatus.assigned,
        DemandStatus.signed,
        DemandStatus.replied,
        DemandStatus.closed,
    ]
    async with sessions() as session, session.begin():
        for status in statuses:
            await outbox.put(
                session, DemandStatusChanged(demand_id=demand_id, occurred_at=NOW, status=status)
            )
    await publish_outbox(infra.kafka_bootstrap_servers, outbox, sessions)

    records = await read_records(
        infra.kafka_bootstrap_servers,
        [topics.DEMAND_STATUS],
        lambda r: header(r, "ce_demandid") == str(demand_id),
        count=4,
    )
    assert [json.loads(r.value)["status"] for r in records] == [s.value for s in statuses]
    assert len({r.partition for r in records}) == 1  # one key, one partition
    async with sessions() as session:
        unsent = await session.scalar(
            select(func.count())
            .select_from(tables.outbox)
            .where(tables.outbox.c.published_at.is_(None))
        )
    assert unsent == 0


async def test_two_relays_never_publish_a_row_twice(infra, engine):
    sessions = create_session_factory(engine)
    outbox = Outbox(tables.outbox, source="/test")
    demand_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        for _ in range(60):
            await outbox.put(
                session,
                DemandStatusChanged(
                    demand_id=demand_id, occurred_at=NOW, status=DemandStatus.signed
                ),
            )
    producer = await _producer(infra)
    try:
        relays = [
            OutboxRelay(
                outbox=outbox, sessions=sessions, producer=producer, interval_s=0.1, batch_size=7
            )
            for _ in range(2)
        ]

        async def drain(relay):
            idle = 0
            while idle < 3:
                idle = 0 if await relay.publish_batch() else idle + 1
                await asyncio.sleep(0)

        await asyncio.gather(*(drain(r) for r in relays))
    finally:
        await producer.stop()
    records = await read_records(
        infra.kafka_bootstrap_servers,
        [topics.DEMAND_STATUS],
        lambda r: header(r, "ce_demandid") == str(demand_id),
        count=60,
    )
    ids = [header(r, "ce_id") for r in records]
    assert len(ids) == len(set(ids)) == 60


async def test_inbox_accepts_an_event_once_per_consumer(engine):
    sessions = create_session_factory(engine)
    event_id = str(uuid.uuid4())
    async with sessions() as session, session.begin():
        first = await record_first_delivery(
            session, tables.inbox, consumer="c1", event_id=event_id, event_type="t"
        )
        again = await record_first_delivery(
            session, tables.inbox, consumer="c1", event_id=event_id, event_type="t"
        )
        other_consumer = await record_first_delivery(
            session, tables.inbox, consumer="c2", event_id=event_id, event_type="t"
        )
    assert (first, again, other_consumer) == (True, False, True)
