"""Routing's use cases. Each runs inside the caller's transaction: task change, audit row and
outbox events commit together."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    DemandClassified,
    DemandEvaluated,
    DemandStatus,
    DemandStatusChanged,
    ReplyResult,
    TaskAssigned,
    TaskReplied,
    TaskRole,
    TaskSigned,
)
from contracts.lists import Lists, NoOwner
from services.routing import repository
from services.routing.dispatch import deadlines
from services.routing.models import Task, TaskTransition
from services.routing.state import TaskAction, TaskState, next_state
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)

SYSTEM_ACTOR = "system:routing"


class TaskNotFound(Exception):
    pass


def _task_status(
    task: Task, status: DemandStatus, *, now: datetime, note: str | None
) -> DemandStatusChanged:
    """The citizen-visible step a task's change makes, naming the handling department."""
    return DemandStatusChanged(
        demand_id=task.demand_id,
        occurred_at=now,
        status=status,
        department_id=task.department_id,
        department_name=task.department_name,
        note=note,
    )


async def dispatch_demand(
    session: AsyncSession, outbox: Outbox, lists: Lists, event: DemandClassified, *, now: datetime
) -> Task | None:
    """Create the lead task for a classified demand and publish it on the department's topic."""
    try:
        ownership = lists.owner(event.matter_code, event.unit_code)
    except NoOwner as exc:
        log.warning("no owner for demand", reason=str(exc))
        await outbox.put(
            session,
            DemandStatusChanged(
                demand_id=event.demand_id,
                occurred_at=now,
                status=DemandStatus.triage,
                note="您的诉求正在由协调员确定承办部门。",
            ),
        )
        return None
    due = deadlines(lists, matter_code=event.matter_code, urgency=event.urgency, now=now)
    department = ownership.lead
    task = Task(
        id=uuid.uuid4(),
        demand_id=event.demand_id,
        role=TaskRole.lead.value,
        department_id=department.id,
        department_name=department.name,
        unit_code=department.unit_code,
        demand_unit_code=event.unit_code,
        matter_code=event.matter_code,
        demand_type=event.demand_type.value,
        urgency=event.urgency.value,
        content=event.content,
        address=event.address,
        citizen_name=event.citizen.name,
        citizen_phone=event.citizen.phone,
        state=TaskState.assigned.value,
        version=1,
        sign_due_at=due.sign_due_at,
        first_contact_due_at=due.first_contact_due_at,
        reply_due_at=due.reply_due_at,
        deadlines_provisional=due.provisional,
        reply_result=None,
        reply_text=None,
        lists_version=lists.version,
        rule=ownership.rule,
        created_at=now,
        updated_at=now,
    )
    await repository.add_task(
        session,
        task,
        TaskTransition(
            task_id=task.id,
            action="assign",
            from_state=None,
            to_state=task.state,
            actor=SYSTEM_ACTOR,
            reason=ownership.rule,
            at=now,
        ),
    )
    await outbox.put(
        session,
        TaskAssigned(
            demand_id=task.demand_id,
            occurred_at=now,
            task_id=task.id,
            department_id=department.id,
            unit_code=department.unit_code,
            role=TaskRole.lead,
            department_name=department.name,
            demand_unit_code=event.unit_code,
            matter_code=event.matter_code,
            demand_type=event.demand_type,
            urgency=event.urgency,
            content=event.content,
            address=event.address,
            sign_due_at=due.sign_due_at,
            reply_due_at=due.reply_due_at,
            lists_version=lists.version,
            rule=ownership.rule,
        ),
    )
    await outbox.put(session, _task_status(task, DemandStatus.assigned, now=now, note=None))
    log.info(
        "task assigned",
        task_id=str(task.id),
        department_id=department.id,
        rule=ownership.rule,
        deadlines_provisional=due.provisional,
    )
    return task


def _transition(
    session: AsyncSession,
    task: Task,
    action: TaskAction,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    previous = task.state
    task.state = next_state(TaskState(task.state), action).value
    task.version += 1
    task.updated_at = now
    repository.add_transition(
        session,
        TaskTransition(
            task_id=task.id,
            action=action.value,
            from_state=previous,
            to_state=task.state,
            actor=actor,
            reason=reason,
            at=now,
        ),
    )


async def _department_task(session: AsyncSession, task_id: uuid.UUID, department_id: str) -> Task:
    task = await repository.lock_task(session, task_id)
    # Another department's task is reported as missing: its existence is not theirs to know.
    if task is None or task.department_id != department_id:
        raise TaskNotFound(str(task_id))
    return task


async def sign_task(
    session: AsyncSession,
    outbox: Outbox,
    task_id: uuid.UUID,
    *,
    department_id: str,
    actor: str,
    now: datetime,
) -> Task:
    task = await _department_task(session, task_id, department_id)
    _transition(session, task, TaskAction.sign, actor=actor, reason=None, now=now)
    await outbox.put(
        session,
        TaskSigned(
            demand_id=task.demand_id,
            occurred_at=now,
            task_id=task.id,
            department_id=task.department_id,
            unit_code=task.unit_code,
            actor=actor,
        ),
    )
    await outbox.put(
        session, _task_status(task, DemandStatus.signed, now=now, note="承办部门已签收。")
    )
    return task


async def reply_task(
    session: AsyncSession,
    outbox: Outbox,
    task_id: uuid.UUID,
    *,
    department_id: str,
    actor: str,
    result: ReplyResult,
    reply_text: str,
    now: datetime,
) -> Task:
    task = await _department_task(session, task_id, department_id)
    _transition(session, task, TaskAction.reply, actor=actor, reason=result.value, now=now)
    task.reply_result = result.value
    task.reply_text = reply_text
    await outbox.put(
        session,
        TaskReplied(
            demand_id=task.demand_id,
            occurred_at=now,
            task_id=task.id,
            department_id=task.department_id,
            unit_code=task.unit_code,
            actor=actor,
            result=result,
            reply_text=reply_text,
        ),
    )
    await outbox.put(session, _task_status(task, DemandStatus.replied, now=now, note=reply_text))
    return task


async def close_after_evaluation(
    session: AsyncSession, outbox: Outbox, event: DemandEvaluated, *, now: datetime
) -> None:
    tasks = await repository.lock_tasks_of_demand(session, event.demand_id)
    replied = [t for t in tasks if t.state == TaskState.replied.value]
    if not replied:
        log.warning("evaluation for a demand with no replied task ignored")
        return
    reason = f"citizen: resolved={event.resolved}, {event.satisfaction.value}"
    for task in replied:
        _transition(session, task, TaskAction.close, actor="citizen", reason=reason, now=now)
    await outbox.put(
        session,
        DemandStatusChanged(
            demand_id=event.demand_id,
            occurred_at=now,
            status=DemandStatus.closed,
            note="感谢您的评价，诉求已办结归档。",
        ),
    )
