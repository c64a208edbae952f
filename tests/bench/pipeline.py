"""`make bench`: end-to-end latency and throughput, demand posted -> task assigned.

Starts the infrastructure (embedded unless DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS are set) and
the four services as processes, posts real citizen messages from ../shared/data, and measures
from the moment intake answered 201 to the moment the `assigned` status reaches `demand.status`.
Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer

from contracts import topics
from services.runtime.auth import Role, issue_token
from services.runtime.embedded import free_port
from services.runtime.launcher import ServiceProcesses, prepare, start_infrastructure
from services.runtime.migrations import SERVICES

BENCH_SECRET = "bench-secret-" + "x" * 24
UNITS = [
    "330502001005",
    "330502001016",
    "330502002009",
    "330502002020",
    "330502100011",
    "330502100024",
]
# Matter keywords are appended so every demand is routable; the text itself is real.
KEYWORDS = ["噪音扰民", "垃圾清运", "违章搭建", "路面破损", "物业"]


def _texts(limit: int) -> list[str]:
    path = (
        Path(__file__).resolve().parents[3]
        / "shared"
        / "data"
        / "citizen-messages"
        / "messages_hot_topics_unlabelled.csv"
    )
    with path.open(encoding="utf-8") as f:
        rows = [r["title"] for r in csv.DictReader(f) if r.get("title")]
    return [rows[i % len(rows)][:300] for i in range(limit)]


async def _watch_assigned(
    bootstrap: str,
    wanted: set[str],
    assigned_at: dict[str, float],
    triaged: set[str],
    ready: asyncio.Event,
    expected: int,
) -> None:
    """Records when each demand is assigned, or sent to triage (its text matched no matter)."""
    consumer = AIOKafkaConsumer(
        topics.DEMAND_STATUS, bootstrap_servers=bootstrap, auto_offset_reset="latest"
    )
    await consumer.start()
    await consumer.seek_to_end()
    ready.set()
    try:
        while len(assigned_at) < expected:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    body = json.loads(record.value)
                    if body["status"] in ("assigned", "triage") and body["demand_id"] in wanted:
                        assigned_at.setdefault(body["demand_id"], now)
                        if body["status"] == "triage":
                            triaged.add(body["demand_id"])
    finally:
        await consumer.stop()


async def _bench(urls: dict[str, str], bootstrap: str, count: int, concurrency: int) -> None:
    texts = _texts(count)
    posted_at: dict[str, float] = {}
    assigned_at: dict[str, float] = {}
    wanted: set[str] = set()
    ready = asyncio.Event()
    triaged: set[str] = set()
    watcher = asyncio.create_task(
        _watch_assigned(bootstrap, wanted, assigned_at, triaged, ready, count)
    )
    await ready.wait()
    semaphore = asyncio.Semaphore(concurrency)
    post_latencies: list[float] = []

    channel = issue_token(
        BENCH_SECRET, sub="channel:bench", role=Role.channel, now=datetime.now(UTC)
    )
    async with httpx.AsyncClient(
        timeout=30, headers={"Authorization": f"Bearer {channel}"}
    ) as client:

        async def post(i: int) -> None:
            body = {
                "channel": "app",
                "content": f"{texts[i]}（{KEYWORDS[i % len(KEYWORDS)]}）",
                "location": {"unit_code": UNITS[i % len(UNITS)]},
                "citizen": {"phone": f"139{i:08d}"},
            }
            async with semaphore:
                started = time.perf_counter()
                response = await client.post(f"{urls['intake']}/v1/demands", json=body)
                done = time.perf_counter()
            response.raise_for_status()
            demand_id = response.json()["demand_id"]
            post_latencies.append(done - started)
            posted_at[demand_id] = done
            wanted.add(demand_id)

        started = time.perf_counter()
        await asyncio.gather(*(post(i) for i in range(count)))
        posted = time.perf_counter() - started
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(watcher), timeout=120)
        total = time.perf_counter() - started
    watcher.cancel()

    latencies = sorted((assigned_at[d] - posted_at[d]) * 1000 for d in assigned_at)
    post_ms = sorted(x * 1000 for x in post_latencies)

    def pct(values: list[float], p: float) -> float:
        return values[min(len(values) - 1, int(len(values) * p))]

    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    rows = [
        ("date", f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"),
        ("machine", machine),
        ("demands", f"{count} posted by {concurrency} concurrent clients"),
        ("decided", f"{len(latencies) - len(triaged)} assigned, {len(triaged)} sent to triage"),
        (
            "intake POST",
            f"{count / posted:.0f}/s; p50 {pct(post_ms, 0.5):.0f} ms, "
            f"p95 {pct(post_ms, 0.95):.0f} ms",
        ),
        (
            "posted -> decided",
            f"p50 {pct(latencies, 0.5):.0f} ms, p95 {pct(latencies, 0.95):.0f} ms, "
            f"p99 {pct(latencies, 0.99):.0f} ms, max {latencies[-1]:.0f} ms",
        ),
        ("throughput", f"{len(latencies) / total:.0f} demands/s from first POST to last decision"),
    ]
    for name, value in rows:
        print(f"{name:<18} {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
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
                "LIANDONG_AUTH_SECRET": BENCH_SECRET,
                "LIANDONG_LOG_LEVEL": "WARNING",
            }
            processes = ServiceProcesses(env, log_dir=Path(state) / "logs")
            for name in SERVICES:
                processes.start(name, port=free_port())
            processes.wait_ready(timeout_s=90)
            urls = {name: p.url for name, p in processes.running.items()}
            asyncio.run(_bench(urls, infra.kafka_bootstrap_servers, args.count, args.concurrency))
        finally:
            if processes is not None:
                processes.stop()
            infra.stop()


if __name__ == "__main__":
    main()
