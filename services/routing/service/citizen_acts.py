"""The citizen's withdrawal (撤诉) and addition (补充) reach the demand's tasks: a withdrawal
takes every open task from its department (told on its topic, counted as withdrawn, never as
resolved); an addition reaches the lead department's task."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    RoutedDemandSupplemented,
    RoutedDemandWithdrawn,
    TaskRole,
    TaskSupplemented,
)
from services.routing import repository
from services.routing.service.duplicates import close_link
from services.routing.service.tasks import withdraw
from services.routing.state import TaskState
from services.routing.task_events import task_event_fields
from services.runtime.logging import mask_text
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)

CITIZEN = "citizen"
# Where a task may still be taken from its department (the state machine's supersede).
_WITHDRAWABLE = {
    TaskRole.lead.value: {TaskState.assigned, TaskState.signed, TaskState.contacted},
    TaskRole.co_handler.value: {TaskState.assigned, TaskState.signed},
}


async def withdraw_by_citizen(
    session: AsyncSession, outbox: Outbox, event: RoutedDemandWithdrawn, *, now: datetime
) -> None:
    tasks = await repository.lock_tasks_of_demand(session, event.demand_id)
    reason = "市民撤诉" + (f"：{event.reason}" if event.reason else "")
    withdrawn = 0
    for task in tasks:
        if TaskState(task.state) in _WITHDRAWABLE.get(task.role, set()):
            await withdraw(session, outbox, task, actor=CITIZEN, reason=reason, now=now)
            withdrawn += 1
    if not tasks:
        await close_link(session, event.demand_id, now)  # a merged demand stops following
    log.info("demand withdrawn by the citizen", tasks_withdrawn=withdrawn)


async def supplement_lead(
    session: AsyncSession, outbox: Outbox, event: RoutedDemandSupplemented, *, now: datetime
) -> None:
    """The addition joins the lead task's content (what its department reads through the task
    API) and is announced on its topic; with no lead task (a merged demand), nothing to reach."""
    tasks = await repository.lock_tasks_of_demand(session, event.demand_id)
    leads = [t for t in tasks if t.role == TaskRole.lead.value]
    if not leads:
        log.warning("addition for a demand with no lead task of its own")
        return
    lead = max(leads, key=lambda t: t.created_at)
    text = mask_text(event.text)
    lead.content = f"{lead.content}\n【市民补充】{event.text}"
    lead.updated_at = now
    await outbox.put(session, TaskSupplemented(**task_event_fields(lead, now), text=text))
