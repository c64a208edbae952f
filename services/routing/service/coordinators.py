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
    department's coordinator is the city's own."""
    chain = chain_of(unit_code)
    return chain[1:] or chain


def coordinator_unit_of(task: Task) -> str:
    """The coordinator above a task: the parent of the department's unit (the city's own)."""
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


async def coordinated_lead(
    session: AsyncSession, task_id: uuid.UUID, coordinator_unit: str
) -> Task:
    task = await repository.lock_task(session, task_id)
    if task is None:
        raise TaskNotFound(str(task_id))
    if not within_jurisdiction(coordinator_unit, task.unit_code):
        raise OutsideJurisdiction(f"task {task_id} belongs to unit {task.unit_code}")
    live = (TaskState.assigned.value, TaskState.signed.value, TaskState.contacted.value)
    if task.role != TaskRole.lead.value or task.state not in live:
        raise NotALiveLeadTask(f"task {task_id} is a {task.role} task in state {task.state}")
    return task
