"""The escalation engine: a sweeper that fires due timers, and an auditor that checks none is
missing.

The sweeper claims due timers with their tasks (`FOR UPDATE SKIP LOCKED`, so several sweepers
share the work and never fire one timer twice), checks each timer's fence against the task's
version (a stale timer does nothing), and in one transaction per batch: reminds (催办) the
department, or escalates the task to the next coordinator of the chain copied onto it
(community → street → district → city; at the city it is supervised, 督办) with a new timer for
that coordinator (on the clock when the task's limits run by the clock), and writes the events
to the outbox. Every write is one set-based statement
per batch.

An escalation moves the task up the coordinators' chain without changing what its department
holds, so it keeps the task's version and the department's other timers stay armed; every
transition, deadline move and coordinator action does bump the version (see timers.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    DisputeEscalated,
    Event,
    ExtensionEscalated,
    Stage,
    TaskEscalated,
    TaskReminded,
)
from contracts.jurisdiction import Level, level_of, parent_of
from services.routing.models import Dispute, Escalation, Extension, Task
from services.routing.state import EXTENDABLE_STATES
from services.routing.timers import (
    ESCALATE,
    REMIND,
    ClockPolicy,
    Timer,
    deadline_column,
    session_policy,
    upsert_statement,
)
from services.runtime.backoff import repeat
from services.runtime.clock import Clock
from services.runtime.db import SessionFactory
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)

ACTOR = "system:escalator"

_CLAIM = text(
    """
    SELECT d.id AS timer_id, d.stage, d.action, d.ref, d.due_at AS timer_due_at, d.fence,
           t.id, t.demand_id, t.version, t.state, t.role, t.department_id, t.unit_code,
           t.matter_code, t.chain, t.created_at, t.sign_due_at, t.first_contact_due_at,
           t.reply_due_at, t.reply_clock_from, t.working_clock, t.fired, t.escalation_id,
           t.escalation_level, t.escalation_stage, t.escalation_due_at, t.supervised
    FROM routing.deadlines d JOIN routing.tasks t ON t.id = d.task_id
    WHERE d.due_at <= :now
    ORDER BY d.due_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)

_DELETE_TIMERS = text("DELETE FROM routing.deadlines WHERE id = ANY(CAST(:ids AS bigint[]))")

_UPDATE_TASKS = text(
    """
    UPDATE routing.tasks AS t SET
        updated_at = CASE WHEN u.escalated THEN :now ELSE t.updated_at END,
        fired = string_to_array(u.fired, '|'),
        escalation_id = u.escalation_id,
        escalation_level = u.escalation_level,
        escalation_stage = u.escalation_stage,
        escalation_due_at = u.escalation_due_at,
        supervised = u.supervised
    FROM unnest(
        CAST(:ids AS uuid[]), CAST(:escalated AS boolean[]), CAST(:fired AS text[]),
        CAST(:escalation_ids AS uuid[]), CAST(:levels AS int[]), CAST(:stages AS text[]),
        CAST(:act_by AS timestamptz[]), CAST(:supervised AS boolean[])
    ) AS u(id, escalated, fired, escalation_id, escalation_level, escalation_stage,
           escalation_due_at, supervised)
    WHERE t.id = u.id
    """
)

_CLIMBED = text(
    """
    UPDATE routing.escalations SET state = 'climbed', closed_at = :now, closed_by = :actor,
        closed_reason = 'not acted on in time: escalated further'
    WHERE id = ANY(CAST(:ids AS uuid[])) AND state = 'open'
    """
)

_ESCALATION_COLUMNS = {
    "id": "uuid",
    "task_id": "uuid",
    "demand_id": "uuid",
    "department_id": "text",
    "unit_code": "text",
    "coordinator_unit_code": "text",
    "matter_code": "text",
    "stage": "text",
    "level": "int",
    "supervised": "boolean",
    "due_at": "timestamptz",
    "act_by": "timestamptz",
    "reason": "text",
    "state": "text",
    "opened_at": "timestamptz",
}

# Built from the constant column list above, never from input.
_INSERT_ESCALATIONS = text(
    "INSERT INTO routing.escalations ("  # noqa: S608
    + ", ".join(_ESCALATION_COLUMNS)
    + ") SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _ESCALATION_COLUMNS.items())
    + ")"
)


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name in _ESCALATION_COLUMNS}


_MISSED = text(
    "UPDATE routing.summons SET missed_at = :now "
    "WHERE id = ANY(CAST(:ids AS uuid[])) AND arrived_at IS NULL"
)

_SUMMONERS = text(
    "SELECT id, coordinator_unit_code FROM routing.summons WHERE id = ANY(CAST(:ids AS uuid[]))"
)

_REASONS = {
    Stage.sign: "not signed (签收) by its deadline",
    Stage.first_contact: "citizen not contacted (先行联系) by the deadline",
    Stage.reply: "not replied (办结) by its deadline",
    Stage.arrival: "a summoned department did not report arrival (报到) in time",
    Stage.coordinator: "the coordinator did not act in time",
    Stage.redo: "the citizen sent the reply back more often than allowed (重办)",
}


class Climbing(Protocol):
    """What an escalation reads and changes of a task: the ORM row or the sweeper's snapshot."""

    id: uuid.UUID
    demand_id: uuid.UUID
    department_id: str
    unit_code: str
    matter_code: str
    chain: list[str]
    working_clock: bool
    fired: list[str]
    escalation_id: uuid.UUID | None
    escalation_level: int | None
    escalation_stage: str | None
    escalation_due_at: datetime | None
    supervised: bool


def note_breach(task: Climbing, stage: Stage) -> None:
    """A department stage's clock ran out: it neither reminds nor breaches again; the task's
    escalation is now about that stage (settled when the stage is done)."""
    if stage in (Stage.sign, Stage.first_contact, Stage.reply):
        marks = (f"remind:{stage.value}", f"breach:{stage.value}")
        task.fired = [*task.fired, *(m for m in marks if m not in task.fired)]
    if stage is not Stage.coordinator:
        task.escalation_stage = stage.value


def climb(
    task: Climbing,
    stage: Stage,
    *,
    due_at: datetime,
    now: datetime,
    act_by: Callable[[datetime, bool], datetime],
    reason: str | None = None,
    above: str | None = None,
) -> tuple[TaskEscalated, dict[str, Any]]:
    """The task climbs one step of its chain (at the top it stays, supervised): its new
    escalation fields, the event and the history row. `above`: a coordinator of the chain
    whose order was not followed (a summons); the task climbs from there. The coordinator's
    time to act runs as the task's limits do (`act_by(now, task.working_clock)`)."""
    held = task.chain.index(above) + 1 if above in task.chain else (task.escalation_level or 0)
    level = min(held + 1, len(task.chain))
    coordinator = task.chain[level - 1]
    supervised = level == len(task.chain)
    deadline = None if supervised else act_by(now, task.working_clock)
    note_breach(task, stage)
    reason = (reason or _REASONS[stage]) + ("; supervised by the city (督办)" if supervised else "")
    task.escalation_id = uuid.uuid4()
    task.escalation_level = level
    task.escalation_due_at = deadline
    task.supervised = supervised
    event = TaskEscalated(
        demand_id=task.demand_id,
        occurred_at=now,
        escalation_id=task.escalation_id,
        task_id=task.id,
        department_id=task.department_id,
        unit_code=task.unit_code,
        coordinator_unit_code=coordinator,
        stage=stage,
        due_at=due_at,
        level=level,
        supervised=supervised,
        act_by=deadline,
        matter_code=task.matter_code,
        reason=reason,
    )
    values = {
        "id": task.escalation_id,
        "task_id": task.id,
        "demand_id": task.demand_id,
        "department_id": task.department_id,
        "unit_code": task.unit_code,
        "coordinator_unit_code": coordinator,
        "matter_code": task.matter_code,
        "stage": stage.value,
        "level": level,
        "supervised": supervised,
        "due_at": due_at,
        "act_by": deadline,
        "reason": reason,
        "state": "open",
        "opened_at": now,
    }
    return event, values


async def escalate_now(
    session: AsyncSession,
    outbox: Outbox,
    task: Task,
    *,
    stage: Stage,
    reason: str,
    now: datetime,
) -> None:
    """An escalation a use case decides (the redo limit reached), not a timer. The caller has
    moved the task's version, so the session re-plans its timers, the coordinator's included."""
    policy = session_policy(session)
    assert policy is not None, "escalate_now needs a routing session (routing_sessions())"
    previous = task.escalation_id
    event, values = climb(
        task,
        stage,
        due_at=now,
        now=now,
        act_by=policy.act_by,
        reason=reason,
    )
    if previous is not None:
        await session.execute(_CLIMBED, {"ids": [previous], "now": now, "actor": ACTOR})
    session.add(Escalation(**values))
    await outbox.put(session, event)


@dataclass(slots=True)
class TaskSnapshot:
    """A claimed task as the sweeper changes it; written back in one statement per batch."""

    id: uuid.UUID
    demand_id: uuid.UUID
    version: int
    state: str
    role: str
    department_id: str
    unit_code: str
    matter_code: str
    chain: list[str]
    created_at: datetime
    sign_due_at: datetime
    first_contact_due_at: datetime
    reply_due_at: datetime
    reply_clock_from: datetime | None
    working_clock: bool
    fired: list[str]
    escalation_id: uuid.UUID | None
    escalation_level: int | None
    escalation_stage: str | None
    escalation_due_at: datetime | None
    supervised: bool
    escalated: bool = False
    changed: bool = False

    @classmethod
    def of_row(cls, row: Any) -> TaskSnapshot:
        names = [f for f in cls.__slots__ if f not in ("escalated", "changed")]
        snapshot = cls(**{name: row[name] for name in names})
        snapshot.fired = list(snapshot.fired)
        return snapshot


@dataclass(slots=True)
class SweepResult:
    claimed: int = 0
    reminded: int = 0
    escalated: int = 0
    escalated_disputes: int = 0
    escalated_extensions: int = 0
    joined: int = 0  # breaches of tasks a coordinator already held
    stale: int = 0
    # due times of the timers that fired, and when their events were committed
    escalated_due_at: list[datetime] = field(default_factory=list)
    reminded_due_at: list[datetime] = field(default_factory=list)
    committed_at: datetime | None = None


class Sweeper:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        outbox: Outbox,
        policy: ClockPolicy,
        clock: Clock,
        batch_size: int = 1000,
        interval_s: float = 0.5,
        concurrency: int = 2,
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.policy = policy
        self.clock = clock
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.concurrency = concurrency
        self.healthy = True
        self.totals = SweepResult()
        self._act_by_for: dict[tuple[datetime, bool], datetime] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep until stopped, with `concurrency` claim loops: while the database runs one
        loop's statements, another builds its batch (they never share a timer or a task)."""
        await asyncio.gather(*(self._loop(stop) for _ in range(self.concurrency)))

    async def _loop(self, stop: asyncio.Event) -> None:
        """At once again after a full batch, else after the interval; after a failure, after
        a backoff (1 s, 2 s, ... 10 s, not every interval)."""

        async def attempt() -> bool:
            return (await self.sweep_once()).claimed >= self.batch_size

        await repeat(
            stop,
            attempt,
            interval_s=self.interval_s,
            owner=self,
            failure="sweep failed, will retry",
        )

    async def sweep_once(self) -> SweepResult:
        """One batch in one transaction."""
        now = self.clock.now()
        result = SweepResult()
        async with self.sessions() as session, session.begin():
            rows = (
                (await session.execute(_CLAIM, {"now": now, "limit": self.batch_size}))
                .mappings()
                .all()
            )
            disputes = (
                await session.scalars(
                    select(Dispute)
                    .where(Dispute.state == "open", Dispute.act_by <= now)
                    .order_by(Dispute.act_by)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            extensions = (
                await session.execute(
                    select(Extension, Task.state, Task.reply_due_at, Task.working_clock)
                    .join(Task, Task.id == Extension.task_id)
                    .where(Extension.state == "pending", Extension.act_by <= now)
                    .order_by(Extension.act_by)
                    .limit(self.batch_size)
                    .with_for_update(of=Extension, skip_locked=True)
                )
            ).all()
            if not rows and not disputes and not extensions:
                return result
            result.claimed = len(rows) + len(disputes) + len(extensions)
            if rows:
                await self._fire(session, rows, now, result)
            for dispute in disputes:
                await self._escalate_dispute(session, dispute, now)
                result.escalated_disputes += 1
            for extension, task_state, reply_due_at, working_clock in extensions:
                if task_state not in EXTENDABLE_STATES:  # replied, returned, reassigned meanwhile
                    extension.state, extension.act_by = "lapsed", None
                    continue
                await self._escalate_extension(
                    session, extension, reply_due_at, now, working_clock=working_clock
                )
                result.escalated_extensions += 1
        result.committed_at = self.clock.now()
        self.outbox.notify()
        self._count(result)
        return result

    def _climb(
        self, unit_code: str, now: datetime, *, working_clock: bool
    ) -> tuple[str, bool, datetime | None]:
        """Where a coordinator's overdue decision goes: the coordinator above, with a new
        deadline (on the clock for a demand whose limits run by it); at the city it stays,
        supervised (督办), with none."""
        above = parent_of(unit_code)
        if level_of(unit_code) is Level.city or above is None:
            return unit_code, True, None
        supervised = level_of(above) is Level.city
        return above, supervised, None if supervised else self._act_by(now, working_clock)

    async def _escalate_dispute(
        self, session: AsyncSession, dispute: Dispute, now: datetime
    ) -> None:
        """A dispute not ruled in time climbs to the coordinator above; at the city it stays,
        supervised. The row is its own timer: a ruled dispute is never claimed."""
        facts = dispute.facts
        previous = dispute.coordinator_unit_code
        dispute.coordinator_unit_code, dispute.supervised, dispute.act_by = self._climb(
            previous, now, working_clock=dispute.working_clock
        )
        await self.outbox.put(
            session,
            DisputeEscalated(
                demand_id=dispute.demand_id,
                occurred_at=now,
                dispute_id=dispute.id,
                coordinator_unit_code=dispute.coordinator_unit_code,
                from_unit_code=previous,
                supervised=dispute.supervised,
                act_by=dispute.act_by,
                matter_code=facts["matter_code"],
            ),
        )

    async def _escalate_extension(
        self,
        session: AsyncSession,
        extension: Extension,
        reply_due_at: datetime,
        now: datetime,
        *,
        working_clock: bool,
    ) -> None:
        """An extension request not decided in time climbs like a dispute; a decided or lapsed
        one is never claimed."""
        previous = extension.coordinator_unit_code
        extension.coordinator_unit_code, extension.supervised, extension.act_by = self._climb(
            previous, now, working_clock=working_clock
        )
        await self.outbox.put(
            session,
            ExtensionEscalated(
                demand_id=extension.demand_id,
                occurred_at=now,
                extension_id=extension.id,
                task_id=extension.task_id,
                coordinator_unit_code=extension.coordinator_unit_code,
                from_unit_code=previous,
                supervised=extension.supervised,
                act_by=extension.act_by,
                requested=extension.requested,
                reply_due_at=reply_due_at,
            ),
        )

    async def _fire(
        self, session: AsyncSession, rows: Any, now: datetime, result: SweepResult
    ) -> None:
        tasks: dict[uuid.UUID, TaskSnapshot] = {}
        events: list[Event] = []
        escalations: list[dict[str, Any]] = []
        climbed: list[uuid.UUID] = []
        missed: list[uuid.UUID] = []
        # A missed arrival climbs from the coordinator who summoned.
        arrivals = [uuid.UUID(r["ref"]) for r in rows if r["stage"] == Stage.arrival.value]
        summoners: dict[uuid.UUID, str | None] = {}
        if arrivals:
            found = await session.execute(_SUMMONERS, {"ids": arrivals})
            summoners = {summons_id: unit for summons_id, unit in found}
        for row in rows:  # in due order
            task = tasks.get(row["id"])
            if task is None:
                task = tasks[row["id"]] = TaskSnapshot.of_row(row)
            if row["fence"] != task.version:
                result.stale += 1
                continue
            stage = Stage(row["stage"])
            due_at: datetime = row["timer_due_at"]
            if row["action"] == REMIND:
                mark = f"remind:{stage.value}"
                if mark in task.fired:
                    continue
                task.fired.append(mark)
                task.changed = True
                events.append(self._reminder(task, stage, now))
                result.reminded += 1
                result.reminded_due_at.append(due_at)
            elif row["action"] == ESCALATE:
                if stage is Stage.arrival:
                    missed.append(uuid.UUID(row["ref"]))
                if stage is Stage.coordinator and (
                    task.escalation_id is None
                    or task.supervised
                    or due_at != task.escalation_due_at
                ):
                    result.stale += 1  # that coordinator's clock no longer runs
                    continue
                if stage is not Stage.coordinator and task.escalation_id is not None:
                    # A coordinator already holds the task and its clock runs: the breach joins
                    # that escalation; only the coordinator's own deadline makes it climb.
                    note_breach(task, stage)
                    task.changed = True
                    result.joined += 1
                    continue
                if task.escalation_id is not None:
                    climbed.append(task.escalation_id)
                above = summoners.get(uuid.UUID(row["ref"])) if stage is Stage.arrival else None
                event, values = self._escalate(task, stage, due_at, now, above=above)
                events.append(event)
                escalations.append(values)
                result.escalated += 1
                result.escalated_due_at.append(due_at)

        await session.execute(_DELETE_TIMERS, {"ids": [row["timer_id"] for row in rows]})
        changed = [task for task in tasks.values() if task.changed]
        if changed:
            await session.execute(_UPDATE_TASKS, _task_columns(changed, now))
        if escalations:
            await session.execute(_INSERT_ESCALATIONS, _columns(escalations))
        if climbed:
            await session.execute(_CLIMBED, {"ids": climbed, "now": now, "actor": ACTOR})
        if missed:
            await session.execute(_MISSED, {"ids": missed, "now": now})
        if events:
            await self.outbox.put_many(session, events)
        coordinator_timers = [
            (task.id, task.version, [Timer(Stage.coordinator, ESCALATE, task.escalation_due_at)])
            for task in tasks.values()
            if task.escalated and task.escalation_due_at is not None
        ]
        if coordinator_timers:
            await session.execute(*upsert_statement(coordinator_timers))

    def _reminder(self, task: TaskSnapshot, stage: Stage, now: datetime) -> TaskReminded:
        return TaskReminded(
            demand_id=task.demand_id,
            occurred_at=now,
            task_id=task.id,
            department_id=task.department_id,
            unit_code=task.unit_code,
            stage=stage,
            due_at=getattr(task, deadline_column(stage)),
        )

    def _act_by(self, now: datetime, working_clock: bool) -> datetime:
        """The coordinator's deadline; one batch shares its `now`, so it is computed once for
        each kind of clock."""
        key = (now, working_clock)
        found = self._act_by_for.get(key)
        if found is None:
            if len(self._act_by_for) >= 2:  # a new batch: the previous one's answers go
                self._act_by_for.clear()
            found = self._act_by_for[key] = self.policy.act_by(now, working_clock)
        return found

    def _escalate(
        self,
        task: TaskSnapshot,
        stage: Stage,
        due_at: datetime,
        now: datetime,
        *,
        above: str | None = None,
    ) -> tuple[TaskEscalated, dict[str, Any]]:
        event, values = climb(task, stage, due_at=due_at, now=now, act_by=self._act_by, above=above)
        task.escalated = task.changed = True
        return event, values

    def _count(self, result: SweepResult) -> None:
        totals = self.totals
        totals.claimed += result.claimed
        totals.reminded += result.reminded
        totals.escalated += result.escalated
        totals.escalated_disputes += result.escalated_disputes
        totals.escalated_extensions += result.escalated_extensions
        totals.stale += result.stale
        if result.claimed:
            log.info(
                "sweep",
                escalated=result.escalated,
                escalated_disputes=result.escalated_disputes,
                escalated_extensions=result.escalated_extensions,
                reminded=result.reminded,
                stale=result.stale,
            )


def _task_columns(tasks: list[TaskSnapshot], now: datetime) -> dict[str, Any]:
    return {
        "now": now,
        "ids": [t.id for t in tasks],
        "escalated": [t.escalated for t in tasks],
        "fired": ["|".join(t.fired) for t in tasks],
        "escalation_ids": [t.escalation_id for t in tasks],
        "levels": [t.escalation_level for t in tasks],
        "stages": [t.escalation_stage for t in tasks],
        "act_by": [t.escalation_due_at for t in tasks],
        "supervised": [t.supervised for t in tasks],
    }


_AUDIT = text(
    """
    SELECT
      (SELECT count(*) FROM routing.tasks t
        WHERE t.state IN ('assigned', 'signed', 'contacted') AND NOT t.supervised
          AND NOT EXISTS (SELECT 1 FROM routing.deadlines d
                          WHERE d.task_id = t.id AND d.fence = t.version)) AS stuck,
      (SELECT count(*) FROM routing.disputes
        WHERE state = 'open' AND act_by IS NULL AND NOT supervised) AS stuck_disputes,
      (SELECT count(*) FROM routing.extensions
        WHERE state = 'pending' AND act_by IS NULL AND NOT supervised) AS stuck_extensions,
      (SELECT min(due_at) FROM routing.deadlines) AS oldest_due
    """
)


@dataclass(slots=True)
class AuditReport:
    checked_at: datetime | None = None
    stuck_tasks: int = 0
    stuck_disputes: int = 0
    stuck_extensions: int = 0
    sweeper_lag_s: float = 0.0

    @property
    def ok(self) -> bool:
        stuck = self.stuck_tasks + self.stuck_disputes + self.stuck_extensions
        return self.checked_at is not None and stuck == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "stuck_tasks": self.stuck_tasks,
            "stuck_disputes": self.stuck_disputes,
            "stuck_extensions": self.stuck_extensions,
            "sweeper_lag_s": round(self.sweeper_lag_s, 3),
        }


class Auditor:
    """Dead-man's switch: every open task, dispute and extension request must have a live
    timer or be supervised at the city; otherwise nothing would ever escalate it. Stuck ones
    are logged and reported."""

    def __init__(self, *, sessions: SessionFactory, clock: Clock, interval_s: float) -> None:
        self.sessions = sessions
        self.clock = clock
        self.interval_s = interval_s
        self.report = AuditReport()

    async def audit(self) -> AuditReport:
        async with self.sessions() as session:
            row = (await session.execute(_AUDIT)).one()
        now = self.clock.now()
        lag = max((now - row.oldest_due).total_seconds(), 0.0) if row.oldest_due else 0.0
        self.report = AuditReport(
            checked_at=now,
            stuck_tasks=row.stuck,
            stuck_disputes=row.stuck_disputes,
            stuck_extensions=row.stuck_extensions,
            sweeper_lag_s=lag,
        )
        if row.stuck or row.stuck_disputes or row.stuck_extensions:
            log.error(
                "open work without a live timer",
                stuck_tasks=row.stuck,
                stuck_disputes=row.stuck_disputes,
                stuck_extensions=row.stuck_extensions,
            )
        return self.report

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.audit()
            except Exception:
                log.exception("audit failed, will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)


class EscalationMetrics(Collector):
    """The sweeper's counters and the auditor's findings, for GET /metrics."""

    def __init__(self, sweeper: Sweeper | None, auditor: Auditor) -> None:
        self.sweeper = sweeper
        self.auditor = auditor

    def collect(self) -> Iterator[Metric]:
        if self.sweeper is not None:
            fired = CounterMetricFamily(
                "liandong_timers_fired", "Timers fired by this process's sweeper", labels=["kind"]
            )
            totals = self.sweeper.totals
            fired.add_metric(["escalation"], totals.escalated)
            fired.add_metric(["reminder"], totals.reminded)
            fired.add_metric(["stale"], totals.stale)
            fired.add_metric(["dispute"], totals.escalated_disputes)
            fired.add_metric(["extension"], totals.escalated_extensions)
            yield fired
        report = self.auditor.report
        yield GaugeMetricFamily(
            "liandong_stuck_tasks",
            "Open tasks with no live timer that are not supervised (last audit)",
            value=report.stuck_tasks,
        )
        yield GaugeMetricFamily(
            "liandong_stuck_disputes",
            "Open disputes with no ruling deadline that are not supervised (last audit)",
            value=report.stuck_disputes,
        )
        yield GaugeMetricFamily(
            "liandong_stuck_extensions",
            "Pending extension requests with no decision deadline, not supervised (last audit)",
            value=report.stuck_extensions,
        )
        yield GaugeMetricFamily(
            "liandong_sweeper_lag_seconds",
            "How late the oldest due timer is (last audit)",
            value=report.sweeper_lag_s,
        )
        yield GaugeMetricFamily(
            "liandong_deadline_audit_timestamp_seconds",
            "When the auditor last ran (0: not yet)",
            value=report.checked_at.timestamp() if report.checked_at else 0,
        )
