"""The citizen's evaluation closes the demand or sends the reply back (重办).

No evaluation in time closes it as not evaluated (未评价)."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    DemandEvaluated,
    DemandNotEvaluated,
    DemandStatus,
    DemandStatusChanged,
    Satisfaction,
    Stage,
    TaskRedoRequested,
    TaskRole,
    Urgency,
)
from contracts.lists import Lists
from services.routing import repository, timers
from services.routing.escalation import escalate_now
from services.routing.models import (
    Task,
)
from services.routing.service.duplicates import close_link, status_for_linked
from services.routing.service.tasks import task_status, transition, withdraw
from services.routing.state import (
    TaskAction,
    TaskState,
)
from services.routing.task_events import task_event_fields
from services.runtime.logging import mask_text
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)


async def close_after_evaluation(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    event: DemandEvaluated,
    *,
    now: datetime,
    max_redos: int = 1,
) -> None:
    """The citizen's evaluation closes the demand's replied tasks, or sends the lead's reply
    back (重办) when it is unresolved or dissatisfied."""
    tasks = await repository.lock_tasks_of_demand(session, event.demand_id)
    if not tasks and await close_link(session, event.demand_id, now):
        # A merged demand: its citizen's evaluation, whatever it says, closes their demand (it
        # counts in the rates as theirs); the task is the original's, and only the original
        # citizen's evaluation closes it or sends it back (重办).
        await outbox.put(session, _closed(event.demand_id, now, note=_EVALUATED))
        return
    replied = [t for t in tasks if t.state == TaskState.replied.value]
    lead = next((t for t in replied if t.role == TaskRole.lead.value), None)
    if lead is None:
        log.warning("evaluation for a demand with no replied lead task ignored")
        return
    if not event.resolved or event.satisfaction is Satisfaction.dissatisfied:
        await _redo(session, outbox, lists, lead, event, now=now, max_redos=max_redos)
        return
    reason = f"citizen: resolved={event.resolved}, {event.satisfaction.value}"
    await _close_tasks(session, outbox, tasks, actor="citizen", reason=reason, now=now)
    await outbox.put(session, _closed(event.demand_id, now, note=_EVALUATED))


_EVALUATED = "感谢您的评价，诉求已办结归档。"
_NOT_EVALUATED = "在规定时间内未收到评价，诉求已办结归档（未评价）。"


def _closed(demand_id: uuid.UUID, now: datetime, *, note: str) -> DemandStatusChanged:
    return DemandStatusChanged(
        demand_id=demand_id, occurred_at=now, status=DemandStatus.closed, note=note
    )


async def _close_tasks(
    session: AsyncSession,
    outbox: Outbox,
    tasks: list[Task],
    *,
    actor: str,
    reason: str,
    now: datetime,
) -> list[Task]:
    """The demand closes: its replied tasks close, its open co-handler tasks are withdrawn.
    Returns the replied ones."""
    replied = [t for t in tasks if t.state == TaskState.replied.value]
    for task in replied:
        transition(session, task, TaskAction.close, actor=actor, reason=reason, now=now)
    await withdraw_open_co_handlers(session, outbox, tasks, actor=actor, now=now)
    return replied


async def withdraw_open_co_handlers(
    session: AsyncSession, outbox: Outbox, tasks: list[Task], *, actor: str, now: datetime
) -> None:
    """The demand closed while a co-handler had not replied: its task is withdrawn, so its
    clocks stop (no reminder or escalation for a closed demand)."""
    for task in tasks:
        if task.role == TaskRole.co_handler.value and TaskState(task.state) in timers.OPEN_STATES:
            await withdraw(session, outbox, task, actor=actor, reason="the demand closed", now=now)


async def close_not_evaluated(
    session: AsyncSession, outbox: Outbox, event: DemandNotEvaluated, *, now: datetime
) -> None:
    """未评价: no evaluation came within the window; the replied tasks close as they are."""
    tasks = await repository.lock_tasks_of_demand(session, event.demand_id)
    reason = f"not evaluated by {event.evaluate_by.isoformat()}"
    replied = await _close_tasks(session, outbox, tasks, actor="feedback", reason=reason, now=now)
    if not replied and not await close_link(session, event.demand_id, now):
        log.warning("not-evaluated notice for a demand with no replied task ignored")
        return
    await outbox.put(session, _closed(event.demand_id, now, note=_NOT_EVALUATED))


async def _redo(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    lead: Task,
    event: DemandEvaluated,
    *,
    now: datetime,
    max_redos: int,
) -> None:
    """重办: the lead's task reopens with a fresh reply deadline and the citizen's words; past
    `max_redos` the coordinator above is escalated at once to decide (reassign, summon...)."""
    reason = f"citizen: resolved={event.resolved}, {event.satisfaction.value}"
    transition(session, lead, TaskAction.redo, actor="citizen", reason=reason, now=now)
    lead.redos += 1
    limits = lists.matters_by_code[lead.matter_code].limits[Urgency(lead.urgency)]
    lead.reply_due_at = lists.calendar.add(now, limits.reply).at
    lead.reply_result = None
    lead.reply_text = None
    timers.restart_stage(lead, Stage.reply, at=now)
    escalated = lead.redos > max_redos
    comment = mask_text(event.comment) if event.comment else None
    await outbox.put(
        session,
        TaskRedoRequested(
            **task_event_fields(lead, now),
            redo=lead.redos,
            resolved=event.resolved,
            satisfaction=event.satisfaction.value,
            comment=comment,
            reply_due_at=lead.reply_due_at,
            escalated=escalated,
        ),
    )
    if escalated:
        await escalate_now(
            session,
            outbox,
            lead,
            stage=Stage.redo,
            reason=f"sent back {lead.redos} times (at most {max_redos} redos to the same lead)",
            now=now,
        )
    await outbox.put(
        session,
        task_status(
            lead,
            DemandStatus.signed,
            now=now,
            note="您的评价已收到，诉求已退回承办部门重新办理（重办）。",
            expected_reply_at=lead.reply_due_at,
        ),
    )
    await status_for_linked(
        session,
        outbox,
        lead,
        DemandStatus.signed,
        now=now,
        note="与您诉求合并办理的同类诉求答复已退回承办部门重新办理（重办），请等待新的答复。",
        expected_reply_at=lead.reply_due_at,
    )
