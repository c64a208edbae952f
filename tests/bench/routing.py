"""`make bench-routing`: routing decisions per second, from `demand.classified` to the lead task
published on its department topic. Starts the infrastructure and the routing service alone,
produces real-looking classified demands, and counts the assigned lead tasks. `--routers 2` starts
two routing processes sharing the partitions, as the k8s deployment runs at least two. Prints
figures."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts import topics
from contracts.envelope import Message, encode
from contracts.events import Citizen, DemandClassified, DemandType, Urgency
from contracts.jurisdiction import Level
from contracts.lists import load_lists
from services.runtime.embedded import free_port
from services.runtime.launcher import ServiceProcesses, prepare, start_infrastructure

MATTERS = [
    "ENV-NOISE-LIFE",
    "CITY-GARBAGE",
    "CITY-ROAD-DAMAGE",
    "HOUSING-PROPERTY-MGMT",
    "LABOR-WAGE-ARREARS",
]

WARMUP = 30
LEAD = b'"role":"lead"'


def _messages(communities: list[str], numbers: range) -> list[Message]:
    """One classified demand per number, encoded before the clock starts: encoding is the
    classification service's work, not routing's."""
    messages = []
    for i in numbers:
        event = DemandClassified(
            demand_id=uuid.uuid4(),
            occurred_at=datetime.now(UTC),
            # Each (matter, community) once, so no demand is a duplicate of another (a linked
            # duplicate publishes no lead task).
            matter_code=MATTERS[i // len(communities)],
            demand_type=DemandType.complaint,
            urgency=Urgency.normal,
            unit_code=communities[i % len(communities)],
            confidence=0.9,
            rule="bench",
            content="楼下夜间施工噪音扰民，垃圾也没人清运",
            address=None,
            citizen=Citizen(phone=f"139{i:08d}"),
        )
        messages.append(encode(event, source="/bench"))
    return messages


async def _route(
    producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, messages: list[Message]
) -> tuple[float, float]:
    """Produce the demands; return once every lead task was seen on the department topics:
    (seconds producing took, seconds in all)."""
    wanted = {message.envelope.demand_id.encode() for message in messages}
    started = time.perf_counter()
    for message in messages:
        await producer.send(
            message.topic, value=message.value, key=message.key, headers=message.headers
        )
    await producer.flush()
    produced = time.perf_counter() - started
    seen: set[bytes] = set()
    deadline = time.monotonic() + 300
    while seen != wanted and time.monotonic() < deadline:
        batch = await consumer.getmany(timeout_ms=500)
        for records in batch.values():
            for record in records:
                # The bench shares the machine with what it measures: the lead tasks are told
                # by their bytes, not by decoding every task event.
                if LEAD in record.value:
                    seen.add(dict(record.headers)["ce_demandid"])
    if seen != wanted:
        raise SystemExit(f"only {len(seen & wanted)} of {len(wanted)} lead tasks seen within 300 s")
    return produced, time.perf_counter() - started


async def _bench(bootstrap: str, count: int, routers: int) -> None:
    lists = load_lists()
    communities = [u.code for u in lists.units if u.level is Level.community]
    if count + WARMUP > len(communities) * len(MATTERS):
        raise SystemExit(f"--count at most {len(communities) * len(MATTERS) - WARMUP}")
    consumer = AIOKafkaConsumer(
        *topics.department_topics(lists), bootstrap_servers=bootstrap, auto_offset_reset="latest"
    )
    await consumer.start()
    await consumer.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=5)
    await producer.start()
    # Warm-up: routing's consumers join their group on their first poll (seconds on the
    # embedded broker); demands for every partition are routed end to end first, so the figure
    # is the steady rate.
    _, warmup = await _route(
        producer, consumer, _messages(communities, range(count, count + WARMUP))
    )
    produced, total = await _route(producer, consumer, _messages(communities, range(count)))
    await producer.stop()
    await consumer.stop()
    print(f"date               {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine            {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    )
    print(f"warm-up            {WARMUP} demands routed in {warmup:.1f} s (consumers joining)")
    print(f"demands            {count} classified demands produced in {produced:.1f} s")
    print(f"lead tasks seen    {count} (with their co-handler tasks, deadlines and audit rows)")
    processes = "one routing process" if routers == 1 else f"{routers} routing processes"
    print(f"routing decisions  {count / total:.0f} per second, end to end, {processes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=6000)
    parser.add_argument(
        "--routers", type=int, default=1, help="routing processes sharing the partitions"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        infra = start_infrastructure(
            database_url=os.environ.get("DATABASE_URL"),
            kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
            state_dir=Path(state),
        )
        processes = None
        try:
            prepare(infra, partitions=3)
            env = {
                **os.environ,
                **infra.env(),
                "LIANDONG_AUTH_SECRET": "bench-secret-" + "x" * 24,
                "LIANDONG_LOG_LEVEL": "WARNING",
            }
            processes = ServiceProcesses(env, log_dir=Path(state) / "logs")
            for replica in range(args.routers):
                processes.start("routing", port=free_port(), replica=replica)
            processes.wait_ready(timeout_s=90)
            asyncio.run(_bench(infra.kafka_bootstrap_servers, args.count, args.routers))
        finally:
            if processes is not None:
                processes.stop()
            infra.stop()


if __name__ == "__main__":
    main()
