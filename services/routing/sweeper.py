"""The escalation sweeper: fires due timers, reminding (催办) or escalating (督办) in batches.

The sweeper claims due timers with their tasks (`FOR UPDATE SKIP LOCKED`, so several sweepers
share the work and never fire one timer twice), checks each timer's fence against the task's
version (a stale timer does nothing), and in one transaction per batch: reminds the
department, or escalates the task to the next coordinator of the chain copied onto it
(community → street → district → city; at the city it is supervised) with a new timer for
that coordinator (on the clock when the task's limits run by the clock), and writes the events
to the outbox. Every write is one set-based statement per batch (repository.py). Disputes and
extension requests not decided in time climb the same way.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
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
from services.routing import repository
from services.routing.escalation import ACTOR, climb, note_breach
from services.routing.models import Dispute, Extension
from services.routing.state import EXTENDABLE_STATES
from services.routing.task_events import task_event_fields
from services.routing.timers import ESCALATE, REMIND, ClockPolicy, Timer, deadline_column
from services.runtime.backoff import repeat
from services.runtime.clock import Clock
from services.runtime.db import SessionFactory
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)


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
class _Fired:
    """What a batch's timers produced, written at its end."""

    events: list[Event] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    climbed: list[uuid.UUID] = field(default_factory=list)  # escalations that climbed further
    missed: list[uuid.UUID] = field(default_factory=list)  # summons not reported in time


@dataclass(slots=True)
class SweepResult:
    claimed: int = 0
    reminded: int = 0
    escalated: int = 0
    escalated_disputes: int = 0
    escalated_extensions: int = 0
    joined: int = 0  # breaches of tasks a coordinator already held
    stale: int = 0
    # escalations by the level they reached (steps above the department's unit), for /metrics
    escalated_by_level: Counter[int] = field(default_factory=Counter)
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
            rows = await repository.claim_due_timers(session, now, self.batch_size)
            disputes = await repository.claim_due_disputes(session, now, self.batch_size)
            extensions = await repository.claim_due_extensions(session, now, self.batch_size)
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
        fired = _Fired()
        # A missed arrival climbs from the coordinator who summoned.
        arrivals = [uuid.UUID(r["ref"]) for r in rows if r["stage"] == Stage.arrival.value]
        summoners = await repository.summoners(session, arrivals)
        for row in rows:  # in due order
            task = tasks.get(row["id"])
            if task is None:
                task = tasks[row["id"]] = TaskSnapshot.of_row(row)
            if row["fence"] != task.version:
                result.stale += 1
            elif row["action"] == REMIND:
                self._remind(task, Stage(row["stage"]), row["timer_due_at"], now, fired, result)
            elif row["action"] == ESCALATE:
                arrival = row["stage"] == Stage.arrival.value
                above = summoners.get(uuid.UUID(row["ref"])) if arrival else None
                self._breach(task, row, now, fired, result, above=above)
        await self._write(session, rows, tasks, fired, now)

    def _remind(
        self,
        task: TaskSnapshot,
        stage: Stage,
        due_at: datetime,
        now: datetime,
        fired: _Fired,
        result: SweepResult,
    ) -> None:
        mark = f"remind:{stage.value}"
        if mark in task.fired:
            return
        task.fired.append(mark)
        task.changed = True
        fired.events.append(self._reminder(task, stage, now))
        result.reminded += 1
        result.reminded_due_at.append(due_at)

    def _breach(
        self,
        task: TaskSnapshot,
        row: Any,
        now: datetime,
        fired: _Fired,
        result: SweepResult,
        *,
        above: str | None,
    ) -> None:
        """A stage's deadline passed: the task climbs, or the breach joins the escalation a
        coordinator already holds; a coordinator's deadline that no longer runs is stale."""
        stage = Stage(row["stage"])
        due_at: datetime = row["timer_due_at"]
        if stage is Stage.arrival:
            fired.missed.append(uuid.UUID(row["ref"]))
        if stage is Stage.coordinator and (
            task.escalation_id is None or task.supervised or due_at != task.escalation_due_at
        ):
            result.stale += 1  # that coordinator's clock no longer runs
            return
        if stage is not Stage.coordinator and task.escalation_id is not None:
            # A coordinator already holds the task and its clock runs: the breach joins
            # that escalation; only the coordinator's own deadline makes it climb.
            note_breach(task, stage)
            task.changed = True
            result.joined += 1
            return
        if task.escalation_id is not None:
            fired.climbed.append(task.escalation_id)
        event, values = self._escalate(task, stage, due_at, now, above=above)
        fired.events.append(event)
        fired.escalations.append(values)
        result.escalated += 1
        result.escalated_by_level[event.level] += 1
        result.escalated_due_at.append(due_at)

    async def _write(
        self,
        session: AsyncSession,
        rows: Any,
        tasks: dict[uuid.UUID, TaskSnapshot],
        fired: _Fired,
        now: datetime,
    ) -> None:
        """The batch's writes, one set-based statement each."""
        await repository.delete_timers(session, [row["timer_id"] for row in rows])
        changed = [task for task in tasks.values() if task.changed]
        if changed:
            await repository.update_escalated_tasks(session, _task_columns(changed, now))
        await repository.insert_escalations(session, fired.escalations)
        await repository.close_climbed(session, fired.climbed, now=now, actor=ACTOR)
        await repository.mark_summons_missed(session, fired.missed, now)
        if fired.events:
            await self.outbox.put_many(session, fired.events)
        coordinator_timers = [
            (task.id, task.version, [Timer(Stage.coordinator, ESCALATE, task.escalation_due_at)])
            for task in tasks.values()
            if task.escalated and task.escalation_due_at is not None
        ]
        if coordinator_timers:
            await repository.upsert_timers(session, coordinator_timers)

    def _reminder(self, task: TaskSnapshot, stage: Stage, now: datetime) -> TaskReminded:
        return TaskReminded(
            **task_event_fields(task, now),
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
        totals.escalated_by_level.update(result.escalated_by_level)
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
