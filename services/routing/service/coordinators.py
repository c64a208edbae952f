"""What a coordinator may act on: its chain, jurisdiction and deadline to act."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    TaskRole,
)
from contracts.jurisdiction import chain_of
from contracts.lists import Department, Lists
from services.routing import repository, timers
from services.routing.models import (
    Task,
)
from services.routing.service.errors import (
    InvalidRuling,
    NoPowerOverMatter,
    NotALiveLeadTask,
    OutsideJurisdiction,
    TaskNotFound,
)
from services.routing.state import (
    TaskState,
)

log = structlog.get_logger(__name__)


def coordinator_chain(unit_code: str) -> list[str]:
    """The coordinators above a department's unit, nearest first, up to the city; a city
    department's coordinator is the city's own. Disputes over who owns a demand go to the
    first; lateness climbs the task's supervision chain instead (`Lists.supervision_chain`)."""
    chain = chain_of(unit_code)
    return chain[1:] or chain


def coordinator_unit_of(task: Task) -> str:
    """The coordinator supervising a task: the first of its supervision chain (a district
    bureau's is its district's 12345 sub-centre where the lists say so)."""
    return task.chain[0] if task.chain else coordinator_chain(task.unit_code)[0]


def coordinator_act_by(
    session: AsyncSession, now: datetime, *, working_clock: bool
) -> datetime | None:
    """A coordinator's deadline to rule a dispute or decide an extension, from the clock policy
    of routing's sessions: in working time, or on the clock for a demand whose limits run by
    it."""
    policy = timers.session_policy(session)
    return policy.act_by(now, working_clock) if policy is not None else None


def within_jurisdiction(coordinator_unit: str, unit_code: str) -> bool:
    """A coordinator acts on its own unit and everything beneath it."""
    return coordinator_unit in chain_of(unit_code)


def department_within(lists: Lists, department_id: str, *, coordinator_unit: str) -> Department:
    """A department the coordinator may give work to: in the lists, within its jurisdiction."""
    department = lists.departments_by_id.get(department_id)
    if department is None:
        raise InvalidRuling(f"no department {department_id} in the lists {lists.version}")
    if not within_jurisdiction(coordinator_unit, department.unit_code):
        raise OutsideJurisdiction(f"department {department_id} is outside unit {coordinator_unit}")
    return department


def department_summonable(
    lists: Lists, department_id: str, *, coordinator_unit: str, task: Task
) -> tuple[Department, str | None]:
    """A department a coordinator may call to a demand of its area (吹哨报到, 加派): one within
    its jurisdiction, or, whatever its level, one the power list gives a part in the task's
    matter on the demand's chain (owner or named in the summons list). Returns the department
    and the rule that let a department outside the area be called (None inside it)."""
    department = lists.departments_by_id.get(department_id)
    if department is None:
        raise InvalidRuling(f"no department {department_id} in the lists {lists.version}")
    if within_jurisdiction(coordinator_unit, department.unit_code):
        return department, None
    allowed = lists.summonable(task.matter_code, task.demand_unit_code)
    rule = allowed.get(department.id)
    if rule is None:
        beyond = [
            f"{d} ({why})"
            for d, why in allowed.items()
            if not within_jurisdiction(coordinator_unit, lists.departments_by_id[d].unit_code)
        ]
        named = ", ".join(beyond) or "none"
        raise NoPowerOverMatter(
            f"department {department_id} holds no power over {task.matter_code} at"
            f" {task.demand_unit_code} under the power list {lists.version}; beyond unit"
            f" {coordinator_unit} it lets a coordinator summon: {named}"
        )
    return department, rule


async def coordinated_lead(
    session: AsyncSession, task_id: uuid.UUID, coordinator_unit: str, *, by_demand: bool = False
) -> Task:
    """The live lead task a coordinator acts on: its department within the coordinator's
    jurisdiction, or (`by_demand`: a summons, an added co-handler) its demand located there,
    so a street calls departments to a demand of its area whoever leads it."""
    task = await repository.lock_task(session, task_id)
    if task is None:
        raise TaskNotFound(str(task_id))
    in_area = by_demand and within_jurisdiction(coordinator_unit, task.demand_unit_code)
    if not in_area and not within_jurisdiction(coordinator_unit, task.unit_code):
        raise OutsideJurisdiction(f"task {task_id} belongs to unit {task.unit_code}")
    live = (TaskState.assigned.value, TaskState.signed.value, TaskState.contacted.value)
    if task.role != TaskRole.lead.value or task.state not in live:
        raise NotALiveLeadTask(f"task {task_id} is a {task.role} task in state {task.state}")
    return task
