"""What `make chaos` checks once the run has drained, from the services' databases and from the
topics: every accepted demand where it should be, exactly once, no timer fired twice, no
notification sent twice, every poison record dead-lettered with its error."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.topics import dlq
from tests.chaos.load import Load, Posted, fetch
from tests.fuzz.consumers import CONSUMERS

FINAL = {"assigned", "triage", "closed"}
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


@dataclass
class Findings:
    """The counts the run prints; `must_be_zero` fails it."""

    figures: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    handled_at: dict[str, datetime] = field(default_factory=dict)  # demand id -> routed/triaged

    def zero(self, name: str, found: Iterable[str]) -> None:
        found = list(found)
        self.figures[name] = len(found)
        self.problems += [f"{name}: {each}" for each in found[:10]]


async def _partitions(bootstrap: str, pattern: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if re.fullmatch(pattern, t)]
        described = await admin.describe_topics(names) if names else []
    finally:
        await admin.close()
    return [
        TopicPartition(t.get("topic") or t["name"], p.get("partition", p.get("partition_index")))
        for t in described
        for p in t["partitions"]
    ]


async def read_topics(bootstrap: str, pattern: str) -> list[Record]:
    """Every record now in the topics matching `pattern`, from the start to the end offsets."""
    partitions = await _partitions(bootstrap, pattern)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Record] = []
        left = {tp for tp in partitions if ends[tp] > 0}
        while left:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for rs in batch.values():
                records += rs
            left = {tp for tp in left if await consumer.position(tp) < ends[tp]}
        return records
    finally:
        await consumer.stop()


def _header(record: Record, name: str) -> str:
    return next((v.decode() for k, v in record.headers if k == name and v), "")


async def states(database_url: str, posts: list[Posted]) -> dict[str, tuple[str, int, bool]]:
    """Demand id -> (intake status, lead tasks, triaged or in dispute)."""
    ids = [uuid.UUID(p.demand_id) for p in posts if p.demand_id]
    status = {
        str(r[0]): r[1]
        for r in await fetch(
            database_url, "SELECT id, status FROM intake.demands WHERE id = ANY($1::uuid[])", ids
        )
    }
    leads = {
        str(r[0]): r[1]
        for r in await fetch(
            database_url,
            "SELECT demand_id, count(*) FROM routing.tasks WHERE role = 'lead' "
            "AND demand_id = ANY($1::uuid[]) GROUP BY demand_id",
            ids,
        )
    }
    elsewhere = {
        str(r[0])
        for r in await fetch(
            database_url,
            "SELECT demand_id FROM classification.triage_items WHERE demand_id = ANY($1::uuid[]) "
            "UNION SELECT demand_id FROM routing.disputes WHERE demand_id = ANY($1::uuid[])",
            ids,
        )
    }
    return {
        str(i): (status.get(str(i), "missing"), leads.get(str(i), 0), str(i) in elsewhere)
        for i in ids
    }


def unsettled(found: dict[str, tuple[str, int, bool]], load: Load) -> list[str]:
    """Accepted demands not (yet) where they should end: the drain waits for none."""
    left = []
    for post in load.accepted():
        assert post.demand_id is not None
        status, leads, elsewhere = found[post.demand_id]
        want = {"closed"} if post.closed_by_worker else FINAL
        if status not in want or (leads == 0 and not elsewhere):
            left.append(f"{post.demand_id} {status}, {leads} lead tasks")
    return left


async def where_stuck(database_url: str, demand_ids: list[str]) -> list[str]:
    """For demands left unsettled: how far each went (classified when, routed when)."""
    rows = await fetch(
        database_url,
        "SELECT d.id, d.status, d.received_at, c.outcome, c.classified_at, t.created_at "
        "FROM intake.demands d "
        "LEFT JOIN classification.classifications c ON c.demand_id = d.id "
        "LEFT JOIN routing.tasks t ON t.demand_id = d.id AND t.role = 'lead' "
        "WHERE d.id = ANY($1::uuid[])",
        [uuid.UUID(i) for i in demand_ids],
    )
    return [
        f"{r[0]} {r[1]}: received {r[2]:%H:%M:%S}, classification {r[3]} "
        f"{r[4] and f'{r[4]:%H:%M:%S}'}, lead task {r[5] and f'{r[5]:%H:%M:%S}'}"
        for r in rows
    ]


async def check(
    database_url: str, bootstrap: str, load: Load, poison: dict[str, set[str]]
) -> Findings:
    findings = Findings()
    posts = load.accepted()
    found = await states(database_url, posts)
    findings.zero(
        "lost (accepted, not in intake)", (i for i, s in found.items() if s[0] == "missing")
    )
    findings.zero("not in a final state", unsettled(found, load))
    findings.zero(
        "duplicate lead tasks (database)", (f"{i}: {s[1]}" for i, s in found.items() if s[1] > 1)
    )
    findings.figures["closed by the department's round"] = sum(
        1 for p in posts if p.closed_by_worker
    )
    findings.figures["in triage or dispute"] = sum(1 for s in found.values() if s[2])
    await _timers(database_url, findings)
    await _handled_at(database_url, findings, posts)
    await _topics(bootstrap, findings, poison)
    return findings


async def _timers(database_url: str, findings: Findings) -> None:
    twice = await fetch(
        database_url,
        "SELECT task_id, stage, level, count(*) FROM routing.escalations "
        "GROUP BY task_id, stage, level HAVING count(*) > 1",
    )
    findings.zero(
        "escalations fired twice (database)", (f"{r[0]} {r[1]} level {r[2]}" for r in twice)
    )
    fired_twice = await fetch(
        database_url,
        "SELECT id FROM routing.tasks "
        "WHERE cardinality(fired) <> (SELECT count(DISTINCT f) FROM unnest(fired) AS f)",
    )
    findings.zero("timers fired twice (task's fired list)", (str(r[0]) for r in fired_twice))
    counts = await fetch(
        database_url,
        "SELECT (SELECT count(*) FROM routing.escalations), "
        "(SELECT coalesce(sum(cardinality(fired)), 0) FROM routing.tasks)",
    )
    findings.figures["escalations (fired, under the faults)"] = counts[0][0]
    findings.figures["timers fired in all"] = counts[0][1]


async def _handled_at(database_url: str, findings: Findings, posts: list[Posted]) -> None:
    ids = [uuid.UUID(p.demand_id) for p in posts if p.demand_id]
    rows = await fetch(
        database_url,
        "SELECT demand_id, min(t) FROM ("
        " SELECT demand_id, created_at AS t FROM routing.tasks WHERE role = 'lead'"
        " UNION ALL SELECT demand_id, created_at FROM classification.triage_items"
        " UNION ALL SELECT demand_id, created_at FROM routing.disputes"
        ") AS handled WHERE demand_id = ANY($1::uuid[]) GROUP BY demand_id",
        ids,
    )
    findings.handled_at = {str(r[0]): r[1] for r in rows}


def _body(record: Record) -> dict[str, Any]:
    try:
        decoded = json.loads(record.value)
    except (TypeError, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


async def _topics(bootstrap: str, findings: Findings, poison: dict[str, set[str]]) -> None:
    # Lead tasks published: one task id per demand (a re-published copy has the same id).
    leads: dict[str, set[str]] = defaultdict(set)
    for r in await read_topics(bootstrap, r"tasks\.\d+(\.\d+)?\.\d{12}\.[\w-]+"):
        body = _body(r)
        if _header(r, "ce_type") == "cn.liandong.task.assigned.v1" and body.get("role") == "lead":
            leads[body["demand_id"]].add(body["task_id"])
    findings.zero(
        "duplicate lead tasks (task topics)", (d for d, tasks in leads.items() if len(tasks) > 1)
    )
    # Notifications: one callback request per demand and reply round.
    sent: dict[tuple[str, int], set[str]] = defaultdict(set)
    copies = Counter[str]()
    for r in await read_topics(bootstrap, r"citizen\.notifications"):
        body = _body(r)
        sent[(body.get("demand_id", ""), body.get("reply_round", 0))].add(_header(r, "ce_id"))
        copies[_header(r, "ce_id")] += 1
    findings.figures["citizen notifications"] = len(sent)
    findings.figures["re-published copies (same event id)"] = sum(c - 1 for c in copies.values())
    findings.zero(
        "duplicate citizen notifications",
        (f"{k[0]} round {k[1]}" for k, v in sent.items() if len(v) > 1),
    )
    # Escalations published: one event per task, level and stage.
    climbs: dict[tuple[str, int, str], set[str]] = defaultdict(set)
    for r in await read_topics(bootstrap, r"escalations\.\d+(\.\d+)?"):
        body = _body(r)
        if _header(r, "ce_type") == "cn.liandong.task.escalated.v1":
            climbs[(body["task_id"], body["level"], body["stage"])].add(_header(r, "ce_id"))
    findings.zero("escalations published twice", (f"{k}" for k, v in climbs.items() if len(v) > 1))
    await _dead_letters(bootstrap, findings, poison)


async def _dead_letters(bootstrap: str, findings: Findings, poison: dict[str, set[str]]) -> None:
    pattern = "|".join(re.escape(dlq(t)) for t in CONSUMERS)
    seen: dict[str, set[str]] = defaultdict(set)
    for r in await read_topics(bootstrap, f"({pattern})"):
        key = (r.key or b"").decode(errors="replace")
        if key in poison and _header(r, "dlq_error"):
            seen[key].add(_header(r, "dlq_consumer").removeprefix("liandong-"))
    findings.figures["poison records (x consumers)"] = sum(len(v) for v in poison.values())
    findings.zero(
        "poison records not dead-lettered with their error",
        (
            f"{key}: by {sorted(seen[key])}, expected {sorted(services)}"
            for key, services in poison.items()
            if seen[key] != services
        ),
    )


def run_check(
    database_url: str, bootstrap: str, load: Load, poison: dict[str, set[str]]
) -> Findings:
    return asyncio.run(check(database_url, bootstrap, load, poison))
