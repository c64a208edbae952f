"""A coordinator's actions on a live lead task: reassign, add a co-handler, summon.

Reassign (改派), add a co-handler (加派), summon departments to the scene (吹哨报到), and the
summoned department's arrival (报到)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import partial

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    DepartmentSummoned,
    TaskRole,
)
from contracts.lists import Lists
from services.routing import repository, timers
from services.routing.models import (
    Summons,
    Task,
)
from services.routing.service.acts import CoordinatorAct, DepartmentAct
from services.routing.service.coordinators import coordinated_lead, department_summonable
from services.routing.service.department_actions import sign_task
from services.routing.service.duplicates import links_follow
from services.routing.service.errors import InvalidRuling, TaskNotFound
from services.routing.service.law import Citation, legal_basis
from services.routing.service.tasks import (
    Assignment,
    DemandFacts,
    create_task,
    note_action,
    withdraw,
)
from services.routing.state import (
    TaskState,
)
from services.runtime.logging import mask_text
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)


async def assign_by_coordinator(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    task_id: uuid.UUID,
    *,
    act: CoordinatorAct,
    role: TaskRole,
    department_id: str,
    citation: Citation,
) -> Task:
    """The coordinator gives a live lead task's demand to a department within its jurisdiction,
    or above it when the power list gives that department a part in the matter there: as its
    lead, taking the task from the department that led it (改派, `reassign_task`), or as one
    more co-handler (加派, `add_co_handler`, on any demand of its area). `citation`: the reason
    and, for a reassignment (required), the legal basis. Returns the new task."""
    adding = role is TaskRole.co_handler
    lead = await coordinated_lead(session, task_id, act.coordinator_unit, by_demand=adding)
    department, power = department_summonable(
        lists, department_id, coordinator_unit=act.coordinator_unit, task=lead
    )
    reason = citation.reason or "no reason given"
    reason = f"{reason} ({power})" if power else reason
    if role is TaskRole.lead:  # 改派 takes the task from a department: by law, on the record
        basis = legal_basis(lists, lead.matter_code, citation, what="a reassignment")
        reason = f"{reason}; legal basis: {basis}"
    if role is TaskRole.lead:
        if department.id == lead.department_id:
            raise InvalidRuling(f"{department_id} already leads this task")
        acted, rule = (
            f"reassigned to {department.id}",
            f"reassigned by {act.actor} from {lead.department_id}: {reason}",
        )
        await withdraw(
            session, outbox, lead, actor=act.actor, reason=f"reassigned: {reason}", now=act.now
        )
    else:
        withdrawn = (TaskState.returned.value, TaskState.superseded.value)
        tasks = await repository.lock_tasks_of_demand(session, lead.demand_id)
        if any(t.department_id == department.id and t.state not in withdrawn for t in tasks):
            raise InvalidRuling(f"{department_id} already has a task on this demand")
        acted, rule = f"added {department.id}", f"added by {act.actor}: {reason}"
    timers.coordinator_acted(session, lead, by=act.actor, reason=acted)
    facts = DemandFacts.of_task(lead)
    task = await create_task(
        session,
        outbox,
        lists,
        facts,
        Assignment(department=department, role=role, rule=rule),
        now=act.now,
    )
    if role is TaskRole.lead:  # the demands merged into the old lead follow the new one
        await links_follow(session, outbox, lead.demand_id, task, now=act.now)
    return task


reassign_task = partial(assign_by_coordinator, role=TaskRole.lead)
add_co_handler = partial(assign_by_coordinator, role=TaskRole.co_handler)


async def summon(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    task_id: uuid.UUID,
    *,
    act: CoordinatorAct,
    department_ids: list[str],
    arrive_within_minutes: int,
    note: str,
) -> list[Summons]:
    """吹哨报到: departments are called to the scene of a demand in the coordinator's area,
    whatever their level when the power list gives them a part in its matter there. Each one
    not yet on the demand gets a co-handler task whose sign deadline is the arrival deadline:
    its report (报到) signs it, and a late or missing one counts in its response rate."""
    lead = await coordinated_lead(session, task_id, act.coordinator_unit, by_demand=True)
    called = [
        department_summonable(lists, d, coordinator_unit=act.coordinator_unit, task=lead)
        for d in dict.fromkeys(department_ids)
    ]
    arrive_by = act.now + timedelta(minutes=arrive_within_minutes)
    withdrawn = (TaskState.returned.value, TaskState.superseded.value)
    on_demand = {
        t.department_id
        for t in await repository.lock_tasks_of_demand(session, lead.demand_id)
        if t.state not in withdrawn
    }
    created = []
    for department, power in called:
        if department.id not in on_demand:
            why = f"summoned by {act.actor}" + (f" ({power})" if power else "")
            facts = DemandFacts.of_task(lead)
            await create_task(
                session,
                outbox,
                lists,
                facts,
                Assignment(department, TaskRole.co_handler, rule=why, sign_by=arrive_by),
                now=act.now,
            )
        summons = Summons(
            id=uuid.uuid4(),
            task_id=lead.id,
            demand_id=lead.demand_id,
            department_id=department.id,
            summoned_by=act.actor,
            coordinator_unit_code=act.coordinator_unit,
            note=note,
            summoned_at=act.now,
            arrive_by=arrive_by,
        )
        session.add(summons)
        created.append(summons)
        await outbox.put(
            session,
            DepartmentSummoned(
                demand_id=lead.demand_id,
                occurred_at=act.now,
                task_id=lead.id,
                department_id=department.id,
                unit_code=department.unit_code,
                summons_id=summons.id,
                lead_task_id=lead.id,
                actor=act.actor,
                arrive_by=arrive_by,
                note=mask_text(note),
            ),
        )
    summoned = ",".join(d.id for d, _ in called)
    timers.coordinator_acted(session, lead, by=act.actor, reason=f"summoned {summoned}")
    note_action(
        session,
        lead,
        "summon",
        actor=act.actor,
        reason=f"{summoned} by {arrive_by.isoformat()}: {note}",
        now=act.now,
    )
    return created


async def report_arrival(
    session: AsyncSession,
    outbox: Outbox,
    summons_id: uuid.UUID,
    *,
    department_id: str,
    now: datetime,
) -> Summons:
    """报到: the summoned department is on site (a second report changes nothing); its
    co-handler task on the demand, if not yet signed, is signed by the report."""
    found = await repository.get_summons(session, summons_id)
    if found is None or found.department_id != department_id:
        raise TaskNotFound(str(summons_id))
    # The task first, then the summons: the order the sweeper locks them in.
    task = await repository.lock_task(session, found.task_id)
    assert task is not None  # a foreign key
    summons = await repository.lock_summons(session, summons_id)
    assert summons is not None
    if summons.arrived_at is None:
        summons.arrived_at = now
        # A change of the task: its arrival timer is re-planned away at commit.
        task.version += 1
        task.updated_at = now
        note_action(session, task, "arrival", actor=department_id, reason=None, now=now)
        await _sign_on_arrival(session, outbox, summons, now=now)
    return summons


async def _sign_on_arrival(
    session: AsyncSession, outbox: Outbox, summons: Summons, *, now: datetime
) -> None:
    tasks = await repository.lock_tasks_of_demand(session, summons.demand_id)
    joining = next(
        (
            t
            for t in tasks
            if t.department_id == summons.department_id
            and t.role == TaskRole.co_handler.value
            and t.state == TaskState.assigned.value
        ),
        None,
    )
    if joining is not None:
        act = DepartmentAct(joining.id, summons.department_id, summons.department_id, now)
        await sign_task(session, outbox, act)
