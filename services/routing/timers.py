"""Task clocks as rows (routing.deadlines), always derived from the task itself.

`plan(task)` says which timers an open task must have: for each running stage (sign, first
contact, reply) a reminder (催办) at a share of the window (of its working time when the limits
run in working time) and the breach at the deadline; one arrival timer per open summons; the
coordinator's time to act while the task is escalated (in working time, or on the clock when the
task's limits run by the clock: critical demands, the emergency profile).
Every timer carries the task's version as its fencing token.

Routing sessions keep the rows in step by themselves: at commit, every task whose version moved
in the transaction (a transition, a moved deadline, a coordinator's action) gets its escalation
settled (the late stage is done, the task left its department, or a coordinator acted) and its
timers re-planned under the new version. Use cases therefore never touch timers, and a timer
left behind by anything else is stale and does nothing when it falls due. The sweeper fires
timers and escalates without moving the version (sweeper.py, escalation.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Protocol, cast

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, attributes, object_session

from contracts.events import Stage, TaskEscalationResolved, TaskRole
from contracts.lists.calendar import BusinessCalendar, LimitUnit, TimeLimit
from services.routing import repository
from services.routing.models import Task
from services.routing.state import TaskState
from services.routing.task_events import task_event_fields
from services.runtime.clock import Clock
from services.runtime.db import SessionFactory
from services.runtime.outbox import Outbox

REMIND = "remind"
ESCALATE = "escalate"

OPEN_STATES = frozenset({TaskState.assigned, TaskState.signed, TaskState.contacted})

_DEPARTMENT_STAGES: tuple[tuple[Stage, str, frozenset[TaskState], bool], ...] = (
    # stage, deadline column, states in which its clock runs, lead only
    (Stage.sign, "sign_due_at", frozenset({TaskState.assigned}), False),
    (
        Stage.first_contact,
        "first_contact_due_at",
        frozenset({TaskState.assigned, TaskState.signed}),
        True,
    ),
    (Stage.reply, "reply_due_at", OPEN_STATES, False),
)


class TaskClocks(Protocol):
    """What planning reads of a task: the ORM row or the sweeper's snapshot of it."""

    @property
    def state(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def sign_due_at(self) -> datetime: ...
    @property
    def first_contact_due_at(self) -> datetime: ...
    @property
    def reply_due_at(self) -> datetime: ...
    @property
    def reply_clock_from(self) -> datetime | None: ...
    @property
    def working_clock(self) -> bool: ...
    @property
    def fired(self) -> list[str]: ...
    @property
    def escalation_level(self) -> int | None: ...
    @property
    def escalation_due_at(self) -> datetime | None: ...
    @property
    def supervised(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Timer:
    stage: Stage
    action: str  # REMIND | ESCALATE
    due_at: datetime
    ref: str = ""  # the summons of an arrival timer


@dataclass(frozen=True, slots=True)
class OpenSummons:
    id: uuid.UUID
    arrive_by: datetime


CLOCK_ACT_WITHIN = TimeLimit(1, LimitUnit.calendar_hours)


@dataclass(frozen=True, slots=True)
class ClockPolicy:
    """How the clocks run: reminder share of a window, the coordinator's time to act (on work
    whose limits run in working time, and on work whose limits run by the clock)."""

    calendar: BusinessCalendar
    remind_share: float  # 0 < share < 1; 0 turns reminders off
    act_within: TimeLimit
    critical_act_within: TimeLimit = CLOCK_ACT_WITHIN  # in calendar hours

    def act_by(self, now: datetime, working_clock: bool) -> datetime:
        """A coordinator's deadline to act (or rule) on what reached it at `now`: in working
        time when the task's (or demand's) limits run in working time, else on the clock, so
        a critical demand of a Saturday night does not wait for Monday."""
        within = self.act_within if working_clock else self.critical_act_within
        return self.calendar.add(now, within).at


def session_policy(session: AsyncSession | Session) -> ClockPolicy | None:
    """The clock policy of a routing session (None for a session without the clock hooks)."""
    keeper: ClockKeeper | None = session.info.get("clocks")
    return keeper.policy if keeper is not None else None


def deadline_column(stage: Stage) -> str:
    """The task's column holding a department stage's deadline."""
    return next(column for s, column, _, _ in _DEPARTMENT_STAGES if s is stage)


def running_stages(state: str, role: str) -> list[tuple[Stage, str]]:
    """The department stages whose clock runs in this state, with their deadline column."""
    current = TaskState(state)
    return [
        (stage, column)
        for stage, column, states, lead_only in _DEPARTMENT_STAGES
        if current in states and (role == TaskRole.lead.value or not lead_only)
    ]


def plan(
    task: TaskClocks,
    summons: Iterable[OpenSummons],
    *,
    remind_share: float,
    calendar: BusinessCalendar,
) -> list[Timer]:
    """Every timer the task needs now; none once it left its department's hands. A reminder
    falls at `remind_share` of its stage's window: of the working time in it when the task's
    limits run in working time, else of the clock's."""
    if TaskState(task.state) not in OPEN_STATES:
        return []
    fired = set(task.fired)
    timers: list[Timer] = []
    for stage, column in running_stages(task.state, task.role):
        due: datetime = getattr(task, column)
        if f"breach:{stage}" not in fired:
            timers.append(Timer(stage, ESCALATE, due))
        start = task.created_at
        if stage is Stage.reply and task.reply_clock_from is not None:
            start = task.reply_clock_from
        if remind_share > 0 and f"remind:{stage}" not in fired and due > start:
            if task.working_clock:
                remind_at = calendar.at_working_share(start, due, remind_share)
            else:
                remind_at = start + (due - start) * remind_share
            timers.append(Timer(stage, REMIND, remind_at))
    for open_summons in summons:
        timers.append(Timer(Stage.arrival, ESCALATE, open_summons.arrive_by, str(open_summons.id)))
    if task.escalation_level is not None and not task.supervised and task.escalation_due_at:
        timers.append(Timer(Stage.coordinator, ESCALATE, task.escalation_due_at))
    return timers


async def arm_new(
    session: AsyncSession, connection: AsyncConnection, rows: Sequence[dict[str, Any]]
) -> None:
    """The timers of tasks written as rows (routing's batches), in one statement; a session
    without the clock hooks arms none, as for tasks it holds as objects."""
    policy = session_policy(session)
    if policy is None or not rows:
        return
    planned = [
        (
            row["id"],
            row["version"],
            plan(
                cast(TaskClocks, SimpleNamespace(**row)),
                (),
                remind_share=policy.remind_share,
                calendar=policy.calendar,
            ),
        )
        for row in rows
    ]
    await repository.upsert_timers(connection, planned)


def restart_stage(task: Task, stage: Stage, *, at: datetime) -> None:
    """A stage's clock starts again at `at` (its deadline moved): it may remind and breach anew,
    the reminder at its share of the new window."""
    task.fired = [mark for mark in task.fired if not mark.endswith(f":{stage.value}")]
    if stage is Stage.reply:
        task.reply_clock_from = at


def stage_still_late(session: Session, task: Task) -> bool:
    """Whether the stage the task was escalated for is still undone; an arrival is done once
    every department whose summons was missed since the task's last resolved escalation has
    reported (报到), however late."""
    if task.escalation_stage == Stage.arrival:
        return repository.missed_arrival_awaited(session, task.id)
    if task.escalation_stage in (None, Stage.coordinator, Stage.redo):
        return True
    return any(
        stage.value == task.escalation_stage for stage, _ in running_stages(task.state, task.role)
    )


def coordinator_acted(session: AsyncSession, task: Task, *, by: str, reason: str) -> None:
    """A coordinator acted on the task (reassign, summon, add, extend): its escalation, if any,
    is resolved at commit."""
    session.info.setdefault("coordinator_acted", {})[task.id] = (by, reason)
    task.version += 1


def _resolve(session: Session, keeper: ClockKeeper, task: Task, *, by: str, reason: str) -> None:
    assert task.escalation_id is not None
    now = keeper.clock.now()
    coordinator = task.escalated_to
    assert coordinator is not None
    repository.resolve_escalation(session, task.escalation_id, now=now, by=by, reason=reason)
    keeper.outbox.add(
        session,
        TaskEscalationResolved(
            **task_event_fields(task, now),
            escalation_id=task.escalation_id,
            coordinator_unit_code=coordinator,
            resolved_by=by,
            reason=reason,
        ),
    )
    task.escalation_id = None
    task.escalation_level = None
    task.escalation_stage = None
    task.escalation_due_at = None
    task.supervised = False


@dataclass
class ClockKeeper:
    """Lives in a routing session's `info`; its hook keeps the task clocks at commit."""

    outbox: Outbox
    policy: ClockPolicy
    clock: Clock

    def keep(self, session: Session) -> None:
        touched: dict[uuid.UUID, Task] = session.info.pop("clock_tasks", {})
        acted: dict[uuid.UUID, tuple[str, str]] = session.info.pop("coordinator_acted", {})
        if not touched:
            return
        for task in touched.values():
            if task.escalation_id is None:
                continue
            if task.id in acted:
                by, reason = acted[task.id]
                _resolve(session, self, task, by=by, reason=reason)
            elif TaskState(task.state) not in OPEN_STATES:
                _resolve(session, self, task, by=task.department_id, reason=f"task {task.state}")
            elif not stage_still_late(session, task):
                reason = f"{task.escalation_stage} done"
                _resolve(session, self, task, by=task.department_id, reason=reason)
        ids = list(touched)
        open_summons: dict[uuid.UUID, list[OpenSummons]] = {}
        for summons_id, task_id, arrive_by in repository.open_summons_of(session, ids):
            open_summons.setdefault(task_id, []).append(OpenSummons(summons_id, arrive_by))
        planned = [
            (
                task.id,
                task.version,
                plan(
                    task,
                    open_summons.get(task.id, ()),
                    remind_share=self.policy.remind_share,
                    calendar=self.policy.calendar,
                ),
            )
            for task in touched.values()
        ]
        repository.rearm_timers(session, planned)


class RoutingSession(Session):
    """The session class of routing: its hooks keep the task clocks."""


def _touched(task: Task) -> None:
    session = object_session(task)
    if session is not None and "clocks" in session.info:
        session.info.setdefault("clock_tasks", {})[task.id] = task


@event.listens_for(Task, "before_insert")
def _collect_new_task(_mapper: Any, _connection: Any, task: Task) -> None:
    _touched(task)


@event.listens_for(Task, "before_update")
def _collect_moved_task(_mapper: Any, _connection: Any, task: Task) -> None:
    # Per row written by a flush, so the clocks' bookkeeping costs nothing for other rows.
    if attributes.get_history(task, "version").has_changes():
        _touched(task)


@event.listens_for(RoutingSession, "before_commit")
def _keep_clocks(session: Session) -> None:
    keeper: ClockKeeper | None = session.info.get("clocks")
    if keeper is None:
        return
    session.flush()
    keeper.keep(session)


@event.listens_for(RoutingSession, "after_commit")
@event.listens_for(RoutingSession, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop("clock_tasks", None)
    session.info.pop("coordinator_acted", None)


def routing_sessions(
    engine: AsyncEngine, *, outbox: Outbox, policy: ClockPolicy, clock: Clock
) -> SessionFactory:
    """Sessions whose commits keep the task clocks (see the module's docstring)."""
    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        sync_session_class=RoutingSession,
        info={"clocks": ClockKeeper(outbox, policy, clock)},
    )
