"""What a department does with its task: sign, first contact, reply, return.

Sign (签收), first contact (先行联系), reply (办结) and return (退单)."""

from __future__ import annotations

from functools import partial

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    DemandStatus,
    ReplyResult,
    ReturnReason,
    TaskContacted,
    TaskReplied,
    TaskReturned,
    TaskRole,
    TaskSigned,
)
from contracts.lists import Department, Lists, NoOwner
from contracts.lists.calendar import TimeLimit
from services.routing import repository
from services.routing.models import (
    Task,
)
from services.routing.service.acts import DepartmentAct
from services.routing.service.coordinators import coordinator_chain
from services.routing.service.disputes import DisputeToOpen, open_dispute
from services.routing.service.duplicates import links_follow, status_for_linked
from services.routing.service.tasks import (
    SYSTEM_ACTOR,
    Assignment,
    DemandFacts,
    create_task,
    department_task,
    task_status,
    transition,
    withdraw,
)
from services.routing.state import (
    TaskAction,
    TaskState,
    TransitionRefused,
)
from services.routing.task_events import task_event_fields
from services.runtime.logging import mask_text
from services.runtime.masking import mask_known
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)


_ACKNOWLEDGED: dict[TaskAction, tuple[type[TaskSigned | TaskContacted], str | None]] = {
    # the event on the task topic; what the lead's citizen (and the merged ones) are told
    TaskAction.sign: (TaskSigned, "承办部门已签收。"),
    TaskAction.contact: (TaskContacted, None),
}


async def acknowledge_task(
    session: AsyncSession,
    outbox: Outbox,
    act: DepartmentAct,
    *,
    action: TaskAction,
) -> Task:
    """The department takes a step that needs no more than its word: sign (签收, `sign_task`),
    or first contact with the citizen (先行联系, `contact_task`: the lead has called back)."""
    event_type, note = _ACKNOWLEDGED[action]
    task = await department_task(session, act.task_id, act.department_id, act.expected_version)
    transition(session, task, action, actor=act.actor, reason=None, now=act.now)
    await outbox.put(session, event_type(**task_event_fields(task, act.now), actor=act.actor))
    if note is not None and task.role == TaskRole.lead.value:
        status = DemandStatus.signed
        await outbox.put(session, task_status(task, status, now=act.now, note=note))
        await status_for_linked(session, outbox, task, status, now=act.now, note=note)
    return task


sign_task = partial(acknowledge_task, action=TaskAction.sign)
contact_task = partial(acknowledge_task, action=TaskAction.contact)


async def reply_task(
    session: AsyncSession,
    outbox: Outbox,
    act: DepartmentAct,
    *,
    result: ReplyResult,
    reply_text: str,
) -> Task:
    task = await department_task(session, act.task_id, act.department_id, act.expected_version)
    transition(session, task, TaskAction.reply, actor=act.actor, reason=result.value, now=act.now)
    task.reply_result = result.value
    task.reply_text = reply_text
    await outbox.put(
        session,
        TaskReplied(
            **task_event_fields(task, act.now),
            actor=act.actor,
            result=result,
            # the district's task topic: every department reads it
            reply_text=mask_known(mask_text(reply_text), [task.citizen_name or ""]),
        ),
    )
    if task.role == TaskRole.lead.value:
        # The citizen reads the reply as written (a number in it may be the department's), but
        # not their name (the status reaches Open311 readers too); the citizens of merged
        # duplicates read no one else's number either.
        own = mask_known(reply_text, [task.citizen_name or ""])
        await outbox.put(session, task_status(task, DemandStatus.replied, now=act.now, note=own))
        await status_for_linked(
            session, outbox, task, DemandStatus.replied, now=act.now, note=mask_text(own)
        )
    return task


async def return_task(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    act: DepartmentAct,
    *,
    reason_code: ReturnReason,
    legal_basis: str,
    window: TimeLimit,
    max_returns: int,
) -> Task:
    """退单: within the window, with a reason and legal basis; the next candidate of the power
    list leads, or after `max_returns` (or with no candidate left) the coordinator of the parent
    level must rule."""
    task = await department_task(session, act.task_id, act.department_id, act.expected_version)
    state = TaskState(task.state)
    if task.final:
        raise TransitionRefused(
            TaskAction.return_task,
            state,
            TaskRole(task.role),
            "the coordinator's ruling is final for this task",
        )
    closes = lists.calendar.add(task.created_at, window)
    if act.now > closes.at:
        raise TransitionRefused(
            TaskAction.return_task,
            state,
            TaskRole(task.role),
            f"the return window ({window}) ended at {closes.at.isoformat()}",
        )
    transition(
        session,
        task,
        TaskAction.return_task,
        actor=act.actor,
        reason=f"{reason_code.value}: {legal_basis}",
        now=act.now,
    )
    tasks = await repository.lock_tasks_of_demand(session, task.demand_id)
    returned = [
        t for t in tasks if t.role == TaskRole.lead.value and t.state == TaskState.returned.value
    ]
    returned.sort(key=lambda t: t.updated_at)
    await outbox.put(
        session,
        TaskReturned(
            **task_event_fields(task, act.now),
            actor=act.actor,
            reason_code=reason_code,
            legal_basis=mask_text(legal_basis),
            returns_of_demand=len(returned),
        ),
    )
    facts = DemandFacts.of_task(task)
    returned_by = [t.department_id for t in returned]
    candidate = _next_candidate(lists, facts, exclude=set(returned_by))
    if candidate is None or len(returned) >= max_returns:
        why = (
            "no candidate left in the power list"
            if candidate is None
            else f"returned {len(returned)} times"
        )
        await open_dispute(
            session,
            outbox,
            lists,
            facts,
            DisputeToOpen(
                coordinator_unit=coordinator_chain(task.unit_code)[0],
                returned_by=returned_by,
                reason=why,
            ),
            now=act.now,
        )
        await links_follow(session, outbox, task.demand_id, None, now=act.now)
        return task
    for other in tasks:  # the new lead's co-handler task gives way to its lead task
        if (
            other.department_id == candidate.id
            and other.role == TaskRole.co_handler.value
            and other.state in (TaskState.assigned.value, TaskState.signed.value)
        ):
            await withdraw(
                session, outbox, other, actor=SYSTEM_ACTOR, reason="now the lead", now=act.now
            )
    rule = f"return {len(returned)} of {task.department_id}: next candidate {candidate.id}"
    lead = await create_task(
        session,
        outbox,
        lists,
        facts,
        Assignment(department=candidate, role=TaskRole.lead, rule=rule),
        now=act.now,
    )
    await links_follow(session, outbox, task.demand_id, lead, now=act.now)
    return task


def _next_candidate(lists: Lists, facts: DemandFacts, *, exclude: set[str]) -> Department | None:
    """The power list's lead, then its co-handlers, skipping departments that returned it."""
    try:
        ownership = lists.owner(facts.matter_code, facts.demand_unit_code, facts.level)
    except NoOwner:
        return None
    return next((d for d in (ownership.lead, *ownership.co_handlers) if d.id not in exclude), None)
