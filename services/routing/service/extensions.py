"""Extensions (延期): the lead asks for more time; the coordinator above decides."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    DemandStatus,
    Stage,
    TaskExtensionDecided,
    TaskExtensionRequested,
    TaskRole,
)
from contracts.lists import Lists
from contracts.lists.calendar import TimeLimit
from services.routing import repository, timers
from services.routing.models import (
    Extension,
    Task,
)
from services.routing.service.acts import CoordinatorAct, DepartmentAct
from services.routing.service.coordinators import (
    coordinator_act_by,
    coordinator_unit_of,
    within_jurisdiction,
)
from services.routing.service.duplicates import status_for_linked
from services.routing.service.errors import ExtensionNotFound, ExtensionRefused, OutsideJurisdiction
from services.routing.service.law import Citation, legal_basis
from services.routing.service.tasks import (
    department_task,
    note_action,
    task_status,
)
from services.routing.state import (
    EXTENDABLE_STATES,
)
from services.routing.task_events import task_event_fields
from services.runtime.logging import mask_text
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)


async def request_extension(
    session: AsyncSession,
    outbox: Outbox,
    act: DepartmentAct,
    *,
    requested: TimeLimit,
    reason: str,
) -> Task:
    """延期申请: only the lead, only before its reply deadline, one pending request at a time."""
    task = await department_task(session, act.task_id, act.department_id, act.expected_version)
    if task.role != TaskRole.lead.value:
        raise ExtensionRefused("only the lead department asks for an extension")
    if task.state not in EXTENDABLE_STATES:
        raise ExtensionRefused(f"a task in state {task.state} cannot ask for an extension")
    if act.now >= task.reply_due_at:
        raise ExtensionRefused(f"the reply deadline {task.reply_due_at.isoformat()} has passed")
    if await repository.pending_extension(session, task.id) is not None:
        raise ExtensionRefused("an extension request for this task is already waiting")
    extension = Extension(
        id=uuid.uuid4(),
        task_id=task.id,
        demand_id=task.demand_id,
        coordinator_unit_code=coordinator_unit_of(task),
        requested=str(requested),
        reason=reason,
        state="pending",
        requested_by=act.actor,
        requested_at=act.now,
        act_by=coordinator_act_by(session, act.now, working_clock=task.working_clock),
        supervised=False,
    )
    session.add(extension)
    note_action(
        session,
        task,
        "request-extension",
        actor=act.actor,
        reason=f"{requested}: {reason}",
        now=act.now,
    )
    await outbox.put(
        session,
        TaskExtensionRequested(
            **task_event_fields(task, act.now),
            extension_id=extension.id,
            actor=act.actor,
            requested=str(requested),
            reason=mask_text(reason),
            coordinator_unit_code=extension.coordinator_unit_code,
        ),
    )
    return task


async def decide_extension(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    extension_id: uuid.UUID,
    *,
    act: CoordinatorAct,
    approve: bool,
    note: str | None,
    citation: Citation | None = None,
) -> Extension:
    """Approve or refuse (a refusal cites its legal basis, kept in the task's history)."""
    extension = await repository.lock_extension(session, extension_id)
    if extension is None:
        raise ExtensionNotFound(str(extension_id))
    if not within_jurisdiction(act.coordinator_unit, extension.coordinator_unit_code):
        raise OutsideJurisdiction(
            f"extension {extension_id} is at unit {extension.coordinator_unit_code}"
        )
    if extension.state == "lapsed":
        raise ExtensionRefused("the request lapsed: the task moved on before a decision")
    if extension.state != "pending":
        raise ExtensionRefused(
            f"the extension was already {extension.state} by {extension.decided_by}"
        )
    task = await repository.lock_task(session, extension.task_id)
    assert task is not None  # a foreign key
    if approve and task.state not in EXTENDABLE_STATES:
        # The task moved on (replied, returned, reassigned) while the request waited.
        raise ExtensionRefused(
            f"the task is now {task.state}: there is no reply deadline to extend"
        )
    if not approve:
        basis = legal_basis(
            lists, task.matter_code, citation or Citation(), what="a refusal of an extension"
        )
        note = f"{note}; legal basis: {basis}" if note else f"legal basis: {basis}"
        note_action(session, task, "extension-refused", actor=act.actor, reason=note, now=act.now)
    extension.state = "approved" if approve else "refused"
    extension.decided_by = act.actor
    extension.decided_at = act.now
    extension.decision_note = note
    extension.act_by = None  # decided: its timer is off
    if approve:
        task.reply_due_at = lists.calendar.add(
            task.reply_due_at, TimeLimit.parse(extension.requested)
        ).at
        task.updated_at = act.now
        timers.restart_stage(task, Stage.reply, at=act.now)
        reason = f"extension of {extension.requested} approved"
        timers.coordinator_acted(session, task, by=act.actor, reason=reason)
        if task.role == TaskRole.lead.value:  # the citizen sees the new expected reply time
            local = task.reply_due_at.astimezone(lists.calendar.zone)
            note = f"办理时限已延长至{local:%Y-%m-%d %H:%M}"
            await outbox.put(
                session,
                task_status(
                    task,
                    DemandStatus.signed,
                    now=act.now,
                    note=note,
                    expected_reply_at=task.reply_due_at,
                ),
            )
            await status_for_linked(
                session,
                outbox,
                task,
                DemandStatus.signed,
                now=act.now,
                note=note,
                expected_reply_at=task.reply_due_at,
            )
    note_action(
        session, task, "extension-" + extension.state, actor=act.actor, reason=note, now=act.now
    )
    await outbox.put(
        session,
        TaskExtensionDecided(
            **task_event_fields(task, act.now),
            extension_id=extension.id,
            approved=approve,
            decided_by=act.actor,
            reply_due_at=task.reply_due_at,
        ),
    )
    return extension
