"""`make run`'s embedded Apache Kafka stopped and started again, cleanly and with SIGKILL: every
topic, every acknowledged event and every committed group offset is still there, at the same
address. (The tansu fallback keeps topics in memory; docs/kafka.md.)"""

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.runtime.kafka import create_producer, create_topics
from services.runtime.launcher import start_infrastructure
from services.runtime.settings import ServiceSettings
from tests.conftest import AUTH_SECRET
from tests.kafka_helpers import eventually

pytestmark = pytest.mark.real_kafka

EVENTS = 200
GROUP = "test-restart"
PARTITIONS = 3


async def _produce(bootstrap, database_url, topic, start, count):
    """Send with the services' own producer: idempotent, acks=all."""
    settings = ServiceSettings(
        database_url=database_url, kafka_bootstrap_servers=bootstrap, auth_secret=AUTH_SECRET
    )
    producer = create_producer(settings)
    await producer.start()
    try:
        for i in range(start, start + count):
            await producer.send_and_wait(topic, key=str(i).encode(), value=f"event {i}".encode())
    finally:
        await producer.stop()


async def _consume(bootstrap, topic, *, limit=None):
    """Read in the group from its committed offsets, up to `limit` events or to the end, and
    commit what was read. Returns the values read."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    values: list[str] = []
    try:
        while limit is None or len(values) < limit:
            wanted = 1000 if limit is None else limit - len(values)
            batch = await consumer.getmany(timeout_ms=3000, max_records=wanted)
            if not batch:
                break
            values.extend(r.value.decode() for records in batch.values() for r in records)
        await consumer.commit()
        return values
    finally:
        await consumer.stop()


async def _committed(bootstrap, topic):
    """The group's committed offsets, read without joining it."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP)
    await consumer.start()
    try:
        return [await consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)]
    finally:
        await consumer.stop()


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
async def test_a_restart_of_the_run_broker_keeps_topics_events_and_offsets(infra, tmp_path, how):
    state_dir = tmp_path / "state"
    first = start_infrastructure(
        database_url=infra.database_url, kafka_bootstrap_servers=None, state_dir=state_dir
    )
    try:
        assert first.broker == "kafka"
        topic = f"test.restart-{uuid.uuid4().hex[:8]}"
        await create_topics(first.kafka_bootstrap_servers, [topic], partitions=PARTITIONS)
        await _produce(first.kafka_bootstrap_servers, infra.database_url, topic, 0, EVENTS)
        read_before = await _consume(first.kafka_bootstrap_servers, topic, limit=50)
        offsets_before = await _committed(first.kafka_bootstrap_servers, topic)
        assert sum(o or 0 for o in offsets_before) == len(read_before) == 50
    finally:
        if how == "SIGKILL":
            first.kill_broker()  # a crash: no controlled shutdown, no flush
        first.stop()

    second = start_infrastructure(
        database_url=infra.database_url, kafka_bootstrap_servers=None, state_dir=state_dir
    )
    try:
        assert second.kafka_bootstrap_servers == first.kafka_bootstrap_servers  # same ports

        # The group coordinator answers once it has loaded __consumer_offsets from disk.
        async def committed_again():
            return await _committed(second.kafka_bootstrap_servers, topic) == offsets_before

        await eventually(committed_again, timeout_s=60, interval_s=1)
        # The group goes on where it committed: the rest, each event once, none lost.
        rest = await _consume(second.kafka_bootstrap_servers, topic)
        assert sorted(read_before + rest) == sorted(f"event {i}" for i in range(EVENTS))
        # ... and the broker takes new events on the same topic.
        await _produce(second.kafka_bootstrap_servers, infra.database_url, topic, EVENTS, 10)
        assert len(await _consume(second.kafka_bootstrap_servers, topic)) == 10
    finally:
        second.stop()
