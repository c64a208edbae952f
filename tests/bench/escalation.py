"""`make bench-escalation`: the escalation sweeper against a million open tasks.

Loads N open lead tasks of community committees all over 湖州 into PostgreSQL (the embedded one
unless DATABASE_URL names a server; a fresh database either way), each with the six timers
routing plans for an unsigned task (sign, first contact and reply; reminder and breach). The
sign deadlines are spread over the next `--spread` seconds, so every task's sign reminder and
sign breach fall due during the run. Then `--sweepers` processes run the real Sweeper until
all have fired, and the bench prints: escalations (and reminders) per second, lateness from due
time to the commit that put the event in the outbox (p50/p99/max), and whether any task fired
twice or not at all (checked in the escalations table and the outbox).

--spread 0 puts every deadline at the start: a backlog, which measures the sweeper's capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from contracts.jurisdiction import Level
from contracts.lists import load_lists
from contracts.lists.calendar import TimeLimit
from services.routing.models import Task, tables
from services.routing.sweeper import Sweeper
from services.routing.timers import ClockPolicy, plan, routing_sessions
from services.runtime.db import create_engine
from services.runtime.launcher import async_url, start_infrastructure
from services.runtime.logging import configure_logging
from services.runtime.migrations import upgrade
from services.runtime.outbox import Outbox

REMIND_SHARE = 0.8
LOAD_CHUNK = 100_000

_LOAD_TASKS = """
INSERT INTO routing.tasks (
    id, demand_id, role, department_id, department_name, unit_code, demand_unit_code,
    matter_code, demand_type, urgency, content, address, citizen_name, citizen_phone, state,
    version, sign_due_at, first_contact_due_at, reply_due_at, deadlines_provisional,
    lists_version, rule, final, created_at, updated_at, chain, fired, supervised, redos,
    working_clock)
SELECT gen_random_uuid(), gen_random_uuid(), 'lead', c || '.community_committee', '社区居委会',
       c, c, 'CITY-GARBAGE', 'complaint', 'normal', '小区垃圾堆放多日无人清理', NULL, '测试',
       '13800000000', 'assigned', 1, s.sign, s.sign + interval '1 day', s.sign + interval '5 days',
       false, 'bench', 'bench', false, $4, $4,
       ARRAY[substr(c, 1, 9) || '000', substr(c, 1, 6) || '000000', substr(c, 1, 4) || '00000000'],
       '{}', false, 0, false
FROM generate_series($1::bigint, $2::bigint - 1) AS g(i)
CROSS JOIN LATERAL (
    SELECT ($3::text[])[1 + (g.i % array_length($3::text[], 1))] AS c,
           $5::timestamptz + make_interval(secs => $6 * ((g.i * 7919) % $7) / $7::float8) AS sign
) AS s
"""

# The six timers plan() gives an unsigned lead task of a clock-time window (checked against
# plan() on a sample).
_LOAD_TIMERS = """
INSERT INTO routing.deadlines (task_id, stage, action, ref, due_at, fence)
SELECT t.id, x.stage, x.action, '', x.due_at, t.version
FROM routing.tasks t
CROSS JOIN LATERAL (VALUES
    ('sign', 'escalate', t.sign_due_at),
    ('sign', 'remind', t.created_at + (t.sign_due_at - t.created_at) * $1::float8),
    ('first_contact', 'escalate', t.first_contact_due_at),
    ('first_contact', 'remind',
        t.created_at + (t.first_contact_due_at - t.created_at) * $1::float8),
    ('reply', 'escalate', t.reply_due_at),
    ('reply', 'remind', t.created_at + (t.reply_due_at - t.created_at) * $1::float8)
) AS x(stage, action, due_at)
"""


class OffsetClock:
    """Real time, shifted so that the run starts at the loaded tasks' time zero."""

    def __init__(self, zero: datetime, wall_zero: float) -> None:
        self.zero, self.wall_zero = zero, wall_zero

    def now(self) -> datetime:
        return self.zero + timedelta(seconds=time.time() - self.wall_zero)


@dataclass
class WorkerReport:
    escalation_lateness: list[float]
    reminder_lateness: list[float]
    batches: int
    busy_s: float
    last_commit: float
    # the batches that fired nothing but escalations: count, first start, last end (wall clock)
    pure_escalations: int = 0
    pure_started: float = float("inf")
    pure_ended: float = 0.0


def _worker(url: str, zero: datetime, wall_zero: float, end: datetime, args: Any, out: Any) -> None:
    out.put(
        asyncio.run(_sweep(url, zero, wall_zero, end, args.batch, args.interval, args.concurrency))
    )


async def _sweep(
    url: str,
    zero: datetime,
    wall_zero: float,
    end: datetime,
    batch: int,
    interval: float,
    concurrency: int,
) -> WorkerReport:
    configure_logging(service="escalator", level="WARNING")  # no line per sweep
    lists = load_lists()
    engine = create_engine(url)
    clock = OffsetClock(zero, wall_zero)
    outbox = Outbox(tables.outbox, source="/bench")
    policy = ClockPolicy(
        calendar=lists.calendar,
        remind_share=REMIND_SHARE,
        act_within=TimeLimit.parse("4 working_hours"),
    )
    sessions = routing_sessions(engine, outbox=outbox, policy=policy, clock=clock)
    sweeper = Sweeper(
        sessions=sessions, outbox=outbox, policy=policy, clock=clock, batch_size=batch
    )
    report = WorkerReport([], [], 0, 0.0, 0.0)
    await asyncio.sleep(max(0.0, wall_zero - time.time()))

    async def loop() -> None:  # what Sweeper.run does, with the figures of every batch kept
        while True:
            started, wall_started = time.perf_counter(), time.time()
            result = await sweeper.sweep_once()
            if result.claimed:
                report.busy_s += time.perf_counter() - started
                if result.escalated and not result.reminded:
                    report.pure_escalations += result.escalated
                    report.pure_started = min(report.pure_started, wall_started)
                    report.pure_ended = max(report.pure_ended, time.time())
                report.batches += 1
                report.last_commit = time.time()
                assert result.committed_at is not None
                committed = result.committed_at
                report.escalation_lateness += [
                    (committed - due).total_seconds() for due in result.escalated_due_at
                ]
                report.reminder_lateness += [
                    (committed - due).total_seconds() for due in result.reminded_due_at
                ]
            if result.claimed < batch:
                if clock.now() > end:
                    break
                await asyncio.sleep(interval)

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    await engine.dispose()
    return report


async def _create_database(server_url: str) -> str:
    name = f"liandong_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{server_url.rpartition('/')[0]}/{name}"


async def _load(url: str, count: int, zero: datetime, spread: float) -> float:
    lists = load_lists()
    communities = [u.code for u in lists.units if u.level is Level.community]
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        created = zero - timedelta(seconds=1)
        for low in range(0, count, LOAD_CHUNK):
            high = min(low + LOAD_CHUNK, count)
            await conn.execute(_LOAD_TASKS, low, high, communities, created, zero, spread, count)
            print(f"  loaded {high:,} tasks", flush=True)
        await conn.execute(_LOAD_TIMERS, REMIND_SHARE)
        await conn.execute("ANALYZE routing.tasks; ANALYZE routing.deadlines")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def _check_plan(url: str, sample: int = 200) -> None:
    """The loaded timers are exactly what routing itself would plan for those tasks."""
    engine = create_engine(async_url(url))
    conn = await asyncpg.connect(url)
    try:
        ids = await conn.fetch(
            "SELECT id FROM routing.tasks TABLESAMPLE SYSTEM (1) LIMIT $1", sample
        )
        from sqlalchemy.ext.asyncio import async_sessionmaker

        async with async_sessionmaker(engine)() as session:
            for (task_id,) in ids:
                task = await session.get(Task, task_id)
                assert task is not None
                planned = {
                    (t.stage.value, t.action, t.due_at)
                    for t in plan(
                        task, (), remind_share=REMIND_SHARE, calendar=load_lists().calendar
                    )
                }
                rows = await conn.fetch(
                    "SELECT stage, action, due_at FROM routing.deadlines WHERE task_id = $1",
                    task_id,
                )
                loaded = {(r["stage"], r["action"], r["due_at"]) for r in rows}
                assert planned == loaded, planned ^ loaded
    finally:
        await conn.close()
        await engine.dispose()


async def _verify(url: str, count: int) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {
            "escalation rows": await conn.fetchval("SELECT count(*) FROM routing.escalations"),
            "tasks escalated twice": await conn.fetchval(
                "SELECT count(*) FROM (SELECT task_id FROM routing.escalations "
                "GROUP BY task_id HAVING count(*) > 1) x"
            ),
            "tasks never escalated": await conn.fetchval(
                "SELECT count(*) FROM routing.tasks WHERE escalation_id IS NULL"
            ),
            "escalated events in the outbox": await conn.fetchval(
                "SELECT count(*) FROM routing.outbox WHERE event_type = $1",
                "cn.liandong.task.escalated.v1",
            ),
            "tasks with more than one escalated event": await conn.fetchval(
                "SELECT count(*) FROM (SELECT key FROM routing.outbox WHERE event_type = $1 "
                "GROUP BY key HAVING count(*) > 1) x",
                "cn.liandong.task.escalated.v1",
            ),
            "reminded events in the outbox": await conn.fetchval(
                "SELECT count(*) FROM routing.outbox WHERE event_type = $1",
                "cn.liandong.task.reminded.v1",
            ),
            "tasks reminded twice": await conn.fetchval(
                "SELECT count(*) FROM (SELECT key FROM routing.outbox WHERE event_type = $1 "
                "GROUP BY key HAVING count(*) > 1) x",
                "cn.liandong.task.reminded.v1",
            ),
        }
    finally:
        await conn.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _describe(name: str, lateness: list[float]) -> str:
    if not lateness:
        return f"  {name}: none fired"
    return (
        f"  {name}: {len(lateness):,} fired; lateness p50 {_pct(lateness, 0.5):.3f} s, "
        f"p99 {_pct(lateness, 0.99):.3f} s, max {max(lateness):.3f} s "
        f"(mean {statistics.fmean(lateness):.3f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--spread", type=float, default=3600, help="seconds (0: all due at once)")
    parser.add_argument("--sweepers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=2000, help="timers per sweep transaction")
    parser.add_argument("--interval", type=float, default=0.1, help="idle pause of a sweeper, s")
    parser.add_argument(
        "--concurrency", type=int, default=2, help="claim loops per sweeper (as in routing)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="liandong-bench-") as state:
        infra = start_infrastructure(
            database_url=os.environ.get("DATABASE_URL"),
            kafka_bootstrap_servers="unused:9092",  # the sweeper writes to the outbox only
            state_dir=Path(state),
            durable=True,  # fsync on: commits cost what they cost in production
        )
        try:
            url = asyncio.run(_create_database(infra.database_url))
            upgrade("routing", async_url(url))
            print(f"loading {args.tasks:,} open tasks, 6 timers each ...", flush=True)
            zero_guess = datetime.now(UTC)
            load_s = asyncio.run(_load(url, args.tasks, zero_guess, args.spread))
            asyncio.run(_check_plan(url))
            print(f"loaded in {load_s:.1f} s; timers match routing's own plan()", flush=True)
            zero = zero_guess  # the first deadline; the sweepers' clocks read it 5 s from now
            wall_zero = time.time() + 5
            end = zero + timedelta(seconds=args.spread + 1)
            context = multiprocessing.get_context("spawn")
            out = context.Queue()
            workers = [
                context.Process(
                    target=_worker,
                    args=(async_url(url), zero, wall_zero, end, args, out),
                )
                for _ in range(args.sweepers)
            ]
            for worker in workers:
                worker.start()
            reports: list[WorkerReport] = [out.get() for _ in workers]
            for worker in workers:
                worker.join()
            checks = asyncio.run(_verify(url, args.tasks))
        finally:
            infra.stop()

    escalations = [x for r in reports for x in r.escalation_lateness]
    reminders = [x for r in reports for x in r.reminder_lateness]
    elapsed = max(r.last_commit for r in reports) - wall_zero
    busy = sum(r.busy_s for r in reports)
    fired = len(escalations) + len(reminders)
    print()
    print(
        f"bench-escalation {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'embedded PostgreSQL (fsync on)'}"
    )
    print(
        f"  {args.tasks:,} tasks, sign deadlines spread over {args.spread:.0f} s, "
        f"{args.sweepers} sweeper process(es) x {args.concurrency} claim loops, "
        f"batch {args.batch}"
    )
    print(_describe("escalations", escalations))
    print(_describe("reminders", reminders))
    print(
        f"  escalations per second: {len(escalations) / elapsed:,.0f} over the run "
        f"({elapsed:.1f} s from the first deadline to the last commit); "
        f"timers fired per second of sweeping: {fired / busy:,.0f} ({busy:.1f} s in sweeps, "
        "summed over claim loops)"
    )
    pure = sum(r.pure_escalations for r in reports)
    if pure:
        pure_s = max(r.pure_ended for r in reports) - min(r.pure_started for r in reports)
        print(
            f"  escalations per second while only escalations were due: {pure / pure_s:,.0f} "
            f"({pure:,} in {pure_s:.1f} s of wall clock)"
        )
    for name, value in checks.items():
        print(f"  {name}: {value:,}")
    expected = {
        "escalation rows": args.tasks,
        "tasks escalated twice": 0,
        "tasks never escalated": 0,
        "escalated events in the outbox": args.tasks,
        "tasks with more than one escalated event": 0,
        "reminded events in the outbox": args.tasks,
        "tasks reminded twice": 0,
    }
    wrong = {k: v for k, v in checks.items() if expected[k] != v}
    print("  double or missed firings: " + ("none" if not wrong else f"WRONG {wrong}"))


if __name__ == "__main__":
    main()
