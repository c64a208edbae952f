"""Escalation (督办) up a task's chain: the rules every escalation follows, fired by a timer
(sweeper.py) or decided by a use case (the redo limit).

An escalation moves the task up the coordinators' chain without changing what its department
holds, so it keeps the task's version and the department's other timers stay armed; every
transition, deadline move and coordinator action does bump the version (see timers.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import Stage, TaskEscalated
from services.routing import repository
from services.routing.models import Escalation, Task
from services.routing.task_events import task_event_fields
from services.routing.timers import session_policy
from services.runtime.outbox import Outbox

ACTOR = "system:escalator"

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
        **task_event_fields(task, now),
        escalation_id=task.escalation_id,
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
        await repository.close_climbed(session, [previous], now=now, actor=ACTOR)
    session.add(Escalation(**values))
    await outbox.put(session, event)
