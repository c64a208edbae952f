"""The traffic of `make chaos`: real citizens' messages posted at a fixed rate whatever the system
does (an open loop: a slow answer does not slow the next post), each retried with its own
Idempotency-Key until intake answers (30 s a try, 2 min in all); a department that signs, contacts and replies to some of
the demands, and their citizens who evaluate; and time that runs fast for others' timers."""

from __future__ import annotations

import asyncio
import csv
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from contracts.jurisdiction import Level
from contracts.lists import load_lists
from services.runtime.auth import Role, issue_token
from tests.chaos.system import SECRET

MESSAGES = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "citizen-messages"
    / "messages_hot_topics_unlabelled.csv"
)
# Shares of the accepted demands, by number: one in SHARES is worked to closed by its lead
# department and its citizen (WORKED), the next has its timers brought forward (TIMED), so they
# fire under the faults; the others stay assigned (or in triage).
SHARES, WORKED, TIMED = 10, 0, 1


def real_messages(limit: int, seed: int) -> list[str]:
    """Title and text of real messages (the board's hot-topics file), shuffled by `seed`."""
    with MESSAGES.open(encoding="utf-8") as f:
        rows = [f"{r['title']}。{r['text']}"[:3900] for r in csv.DictReader(f)]
    random.Random(seed).shuffle(rows)
    return [r for r in rows if len(r) >= 5][:limit]


@dataclass
class Posted:
    """One demand the load sent: what intake answered, as often as it had to ask."""

    number: int
    key: str
    posted_at: datetime
    body: dict[str, Any]
    demand_id: str | None = None
    token: str | None = None
    accepted_at: datetime | None = None
    answers: list[int] = field(default_factory=list)  # status codes; 0: no answer
    refused_4xx: bool = False
    closed_by_worker: bool = False

    @property
    def troubled(self) -> bool:
        """Answered 5xx, or not at all, at least once."""
        return any(a == 0 or a >= 500 for a in self.answers)


@dataclass
class Load:
    intake_url: str
    rate: float
    seed: int = 22
    give_up_s: float = 120.0
    posted: list[Posted] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.channel = {"Authorization": f"Bearer {token(Role.channel, 'channel:hotline')}"}
        self.units = sorted(u.code for u in load_lists().units if u.level is Level.community)
        self.rng = random.Random(self.seed)

    async def run(self, stop: asyncio.Event) -> None:
        """Post at `rate` per second until `stop`; then wait for every post to end."""
        messages = real_messages(100_000, self.seed)
        pending: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        # 30 s, as a front end would wait; room for every post in flight, so a post never
        # waits on the client's own pool while intake is slow.
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            number = 0
            while not stop.is_set():
                post = self._new(number, messages[number % len(messages)])
                self.posted.append(post)
                task = asyncio.create_task(self._post(client, post))
                pending.add(task)
                task.add_done_callback(pending.discard)
                number += 1
                next_at = started + number / self.rate
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if pending:
                await asyncio.wait(pending)

    def _new(self, number: int, content: str) -> Posted:
        body = {
            "channel": "hotline",
            "content": content,
            "location": {"unit_code": self.rng.choice(self.units)},
            "citizen": {"name": f"市民{number:05d}", "phone": f"139{number:08d}"},
        }
        return Posted(number, f"chaos-{uuid.uuid4()}", datetime.now(UTC), body)

    async def _post(self, client: httpx.AsyncClient, post: Posted) -> None:
        """Until intake answers 2xx or 4xx, or `give_up_s` passes: the same Idempotency-Key,
        so a demand accepted by an intake killed before it answered is not posted twice."""
        deadline = time.monotonic() + self.give_up_s
        delay = 0.25
        headers = {**self.channel, "Idempotency-Key": post.key}
        while time.monotonic() < deadline:
            try:
                response = await client.post(
                    f"{self.intake_url}/v1/demands", json=post.body, headers=headers
                )
            except httpx.HTTPError:
                post.answers.append(0)
            else:
                post.answers.append(response.status_code)
                if response.status_code < 300:
                    answer = response.json()
                    post.demand_id, post.token = answer["demand_id"], answer["tracking_token"]
                    post.accepted_at = datetime.now(UTC)
                    return
                if response.status_code < 500:
                    post.refused_4xx = True
                    return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4)

    def accepted(self) -> list[Posted]:
        return [p for p in self.posted if p.demand_id is not None]

    def share(self, which: int) -> list[Posted]:
        """The accepted demands of one share: WORKED or TIMED."""
        return [p for p in self.accepted() if p.number % SHARES == which]


def token(role: Role, sub: str, *, department_id: str | None = None) -> str:
    now = datetime.now(UTC)
    return issue_token(SECRET, sub=sub, role=role, now=now, department_id=department_id)


async def fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """One query on a connection of its own: PostgreSQL may be restarting under it."""
    for _ in range(60):
        try:
            conn = await asyncpg.connect(database_url, timeout=5)
            try:
                rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
                return rows
            finally:
                await conn.close()
        except (TimeoutError, OSError, asyncpg.PostgresError):
            await asyncio.sleep(1)
    raise RuntimeError(f"PostgreSQL did not answer for a minute: {sql[:60]}")


@dataclass
class Department:
    """The lead departments of the worked share: sign, contact, reply; then their citizens
    evaluate. Each step is retried until it is done, so a fault only delays it."""

    database_url: str
    routing_urls: list[str]
    feedback_url: str
    load: Load
    done: set[str] = field(default_factory=set)
    at_once: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            while not stop.is_set():
                waiting = {
                    p.demand_id: p for p in self.load.share(WORKED) if p.demand_id not in self.done
                }
                if waiting:
                    leads = await fetch(
                        self.database_url,
                        "SELECT demand_id, id, department_id, state FROM routing.tasks "
                        "WHERE role = 'lead' AND demand_id = ANY($1::uuid[])",
                        [uuid.UUID(d) for d in waiting if d],
                    )
                    # Not routed yet, triaged, or (the check finds it) more than one lead.
                    count = Counter(str(r[0]) for r in leads)
                    ones = [r for r in leads if count[str(r[0])] == 1]
                    await asyncio.gather(
                        *(self._advance(client, waiting[str(r[0])], r) for r in ones)
                    )
                await asyncio.sleep(1)

    async def _advance(self, client: httpx.AsyncClient, post: Posted, lead: asyncpg.Record) -> None:
        """The next step of the lead task: sign, contact, reply; once replied, the evaluation."""
        task_id, department, state = str(lead[1]), lead[2], lead[3]
        bearer = token(Role.department, f"clerk@{department}", department_id=department)
        routing = self.routing_urls[post.number % len(self.routing_urls)]
        steps = {
            "assigned": ("sign", None),
            "signed": ("contact", None),
            "contacted": ("reply", {"result": "resolved", "reply_text": "已处理，感谢反映。"}),
        }
        async with self.at_once:
            try:
                if state in steps:
                    step, body = steps[state]
                    await client.post(
                        f"{routing}/v1/tasks/{task_id}/{step}",
                        headers={"Authorization": f"Bearer {bearer}"},
                        json=body,
                    )
                elif state == "replied":
                    await self._evaluate(client, post)
            except httpx.HTTPError:
                pass  # a fault: the next round tries again

    async def _evaluate(self, client: httpx.AsyncClient, post: Posted) -> None:
        url = f"{self.feedback_url}/v1/demands/{post.demand_id}/evaluation?token={post.token}"
        response = await client.post(url, json={"resolved": True, "satisfaction": "satisfied"})
        if response.status_code in (201, 409):  # 409: evaluated already, by a retry
            post.closed_by_worker = True
            assert post.demand_id is not None
            self.done.add(post.demand_id)


async def bring_timers_forward(database_url: str, load: Load, stop: asyncio.Event) -> None:
    """Make the timed share's deadlines fall due now, again and again: reminders, then
    escalations up the chain, fire while processes crash and the database restarts."""
    while not stop.is_set():
        ids = [uuid.UUID(p.demand_id) for p in load.share(TIMED) if p.demand_id]
        if ids:
            await fetch(
                database_url,
                "UPDATE routing.deadlines SET due_at = now() - interval '1 second' "
                "WHERE due_at > now() AND task_id IN "
                "(SELECT id FROM routing.tasks WHERE demand_id = ANY($1::uuid[]))",
                ids,
            )
        await asyncio.sleep(3)
