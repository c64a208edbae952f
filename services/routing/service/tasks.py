"""A task's life in the session: the demand's facts, a new task, a transition, a status.

A new task and the events announcing it, a transition and its audit row, and what the
citizen is told of a task's change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

import structlog
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    Citizen,
    DemandClassified,
    DemandStatus,
    DemandStatusChanged,
    DemandType,
    Event,
    TaskAssigned,
    TaskRole,
    TaskWithdrawn,
    Urgency,
)
from contracts.jurisdiction import Level
from contracts.lists import Department, Lists
from services.routing import repository, timers
from services.routing.deadlines import deadlines
from services.routing.models import (
    Task,
    TaskTransition,
)
from services.routing.service.errors import TaskNotFound, VersionConflict
from services.routing.state import (
    TaskAction,
    TaskState,
    next_state,
)
from services.routing.task_events import task_event_fields
from services.runtime.logging import mask_text
from services.runtime.masking import mask_known
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)


SYSTEM_ACTOR = "system:routing"


@dataclass(frozen=True, slots=True)
class DemandFacts:
    """What every task of a demand carries, whoever handles it."""

    demand_id: uuid.UUID
    matter_code: str
    demand_type: DemandType
    urgency: Urgency
    demand_unit_code: str
    content: str
    address: str | None
    citizen: Citizen
    level: Level | None = None  # the power-list level classification chose on evidence

    @classmethod
    def of_event(cls, event: DemandClassified) -> DemandFacts:
        return cls(
            event.demand_id,
            event.matter_code,
            event.demand_type,
            event.urgency,
            event.unit_code,
            event.content,
            event.address,
            event.citizen,
            event.level,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "demand_id": str(self.demand_id),
            "matter_code": self.matter_code,
            "demand_type": self.demand_type.value,
            "urgency": self.urgency.value,
            "demand_unit_code": self.demand_unit_code,
            "content": self.content,
            "address": self.address,
            "citizen": self.citizen.model_dump(),
            "level": self.level.value if self.level else None,
        }

    @classmethod
    def of_json(cls, data: dict[str, Any]) -> DemandFacts:
        return cls(
            uuid.UUID(data["demand_id"]),
            data["matter_code"],
            DemandType(data["demand_type"]),
            Urgency(data["urgency"]),
            data["demand_unit_code"],
            data["content"],
            data["address"],
            Citizen(**data["citizen"]),
            Level(data["level"]) if data.get("level") else None,
        )

    @classmethod
    def of_task(cls, task: Task) -> DemandFacts:
        return cls(
            task.demand_id,
            task.matter_code,
            DemandType(task.demand_type),
            Urgency(task.urgency),
            task.demand_unit_code,
            task.content,
            task.address,
            Citizen(name=task.citizen_name, phone=task.citizen_phone),
        )


def task_status(
    task: Task,
    status: DemandStatus,
    *,
    now: datetime,
    note: str | None,
    expected_reply_at: datetime | None = None,
) -> DemandStatusChanged:
    """The citizen-visible step a task's change makes, naming the handling department."""
    return DemandStatusChanged(
        demand_id=task.demand_id,
        occurred_at=now,
        status=status,
        department_id=task.department_id,
        department_name=task.department_name,
        note=note,
        expected_reply_at=expected_reply_at,
    )


def new_task(
    lists: Lists,
    facts: DemandFacts,
    department: Department,
    *,
    role: TaskRole,
    rule: str,
    now: datetime,
    final: bool = False,
    sign_by: datetime | None = None,
) -> tuple[dict[str, Any], list[Event]]:
    """A new task: its row (the columns of `tasks`) and the events that announce it. `sign_by`:
    a summoned department's arrival deadline, which is its sign deadline (报到 signs the task);
    the summons's own timer escalates a missed arrival, so the task's sign clock never fires."""
    due = deadlines(lists, matter_code=facts.matter_code, urgency=facts.urgency, now=now)
    sign_due_at = sign_by or due.sign_due_at
    is_lead = role is TaskRole.lead
    task_id = uuid.uuid4()
    row: dict[str, Any] = {
        "id": task_id,
        "demand_id": facts.demand_id,
        "role": role.value,
        "department_id": department.id,
        "department_name": department.name,
        "unit_code": department.unit_code,
        "demand_unit_code": facts.demand_unit_code,
        "matter_code": facts.matter_code,
        "demand_type": facts.demand_type.value,
        "urgency": facts.urgency.value,
        "content": facts.content,
        "address": facts.address,
        # The data list: the citizen's contact is stored on the lead's task only.
        "citizen_name": facts.citizen.name if is_lead else None,
        "citizen_phone": facts.citizen.phone if is_lead else None,
        "state": TaskState.assigned.value,
        "version": 1,
        "sign_due_at": sign_due_at,
        "first_contact_due_at": due.first_contact_due_at,
        "reply_due_at": due.reply_due_at,
        "reply_clock_from": None,
        "working_clock": due.working_clock,
        "deadlines_provisional": due.provisional,
        "reply_result": None,
        "reply_text": None,
        "lists_version": lists.version,
        "rule": rule[:200],
        "final": final,
        "created_at": now,
        "updated_at": now,
        "chain": lists.supervision_chain(department.unit_code),
        "fired": ["remind:sign", "breach:sign"] if sign_by else [],
        "escalation_id": None,
        "escalation_level": None,
        "escalation_stage": None,
        "escalation_due_at": None,
        "supervised": False,
        "redos": 0,
    }
    events: list[Event] = [
        TaskAssigned(
            demand_id=facts.demand_id,
            occurred_at=now,
            task_id=task_id,
            department_id=department.id,
            unit_code=department.unit_code,
            role=role,
            department_name=department.name,
            demand_unit_code=facts.demand_unit_code,
            matter_code=facts.matter_code,
            demand_type=facts.demand_type,
            urgency=facts.urgency,
            # The district topic is readable by every department of the district: phone and
            # ID numbers and the citizen's name in their words are masked; the owner reads them on
            # the task API.
            content=mask_known(mask_text(facts.content), [facts.citizen.name or ""]),
            address=facts.address,
            sign_due_at=sign_due_at,
            reply_due_at=due.reply_due_at,
            lists_version=lists.version,
            rule=row["rule"],
        )
    ]
    if is_lead:
        events.append(
            DemandStatusChanged(
                demand_id=facts.demand_id,
                occurred_at=now,
                status=DemandStatus.assigned,
                department_id=department.id,
                department_name=department.name,
                expected_reply_at=due.reply_due_at,
            )
        )
    return row, events


def assignment_row(task_id: uuid.UUID, rule: str, now: datetime) -> dict[str, Any]:
    """The audit row of a task's creation."""
    return {
        "task_id": task_id,
        "action": "assign",
        "from_state": None,
        "to_state": TaskState.assigned.value,
        "actor": SYSTEM_ACTOR,
        "reason": rule,
        "at": now,
    }


@dataclass(frozen=True, slots=True)
class Assignment:
    """A department given a demand: as lead or co-handler, by which rule, and whether the task
    is final (a coordinator's ruling: it cannot be returned)."""

    department: Department
    role: TaskRole
    rule: str
    final: bool = False
    sign_by: datetime | None = None  # a summoned department: its arrival deadline


async def create_task(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    facts: DemandFacts,
    assignment: Assignment,
    *,
    now: datetime,
) -> Task:
    """One new task in the session (an action's task: returns, rulings, coordinators)."""
    row, events = new_task(
        lists,
        facts,
        assignment.department,
        role=assignment.role,
        rule=assignment.rule,
        now=now,
        final=assignment.final,
        sign_by=assignment.sign_by,
    )
    task = Task(**row)
    await repository.add_task(
        session, task, TaskTransition(**assignment_row(task.id, assignment.rule, now))
    )
    for event in events:
        await outbox.put(session, event)
    log.info(
        "task assigned",
        task_id=str(task.id),
        role=assignment.role.value,
        department_id=assignment.department.id,
    )
    return task


@dataclass(slots=True)
class NewTasks:
    """The tasks a batch of demands creates, written set-based at the end of the batch (one
    statement per table, timers included) instead of through the unit of work object by
    object: most of what routing does is this, and the unit of work cost the most of it."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def add(
        self,
        lists: Lists,
        facts: DemandFacts,
        department: Department,
        *,
        role: TaskRole,
        rule: str,
        now: datetime,
    ) -> dict[str, Any]:
        row, events = new_task(lists, facts, department, role=role, rule=rule, now=now)
        self.rows.append(row)
        self.transitions.append(assignment_row(row["id"], rule, now))
        self.events.extend(events)
        return row

    async def write(self, session: AsyncSession, outbox: Outbox) -> None:
        if not self.rows:
            return
        # On the connection: no autoflush, so objects added meanwhile (a duplicate's link to
        # one of these tasks) are flushed at commit, after the rows they point to.
        connection = await session.connection()
        await repository.insert_rows(connection, cast(Table, Task.__table__), self.rows)
        await repository.insert_rows(
            connection, cast(Table, TaskTransition.__table__), self.transitions
        )
        await outbox.put_many(connection, self.events)
        await timers.arm_new(session, connection, self.rows)


class Audited(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def state(self) -> str: ...


def note_action(
    session: AsyncSession,
    task: Audited,
    action: str,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    """An audit row for an action that leaves the task's state as it is (a summons, a merge)."""
    repository.add_transition(
        session,
        TaskTransition(
            task_id=task.id,
            action=action,
            from_state=task.state,
            to_state=task.state,
            actor=actor,
            reason=reason,
            at=now,
        ),
    )


def transition(
    session: AsyncSession,
    task: Task,
    action: TaskAction,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    previous = task.state
    task.state = next_state(TaskState(task.state), action, TaskRole(task.role)).value
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


async def department_task(
    session: AsyncSession, task_id: uuid.UUID, department_id: str, expected_version: int | None
) -> Task:
    task = await repository.lock_task(session, task_id)
    # Another department's task is reported as missing: its existence is not theirs to know.
    if task is None or task.department_id != department_id:
        raise TaskNotFound(str(task_id))
    if expected_version is not None and task.version != expected_version:
        raise VersionConflict(
            f"the task changed since version {expected_version}: it is now at {task.version}"
        )
    return task


async def withdraw(
    session: AsyncSession, outbox: Outbox, task: Task, *, actor: str, reason: str, now: datetime
) -> None:
    """Take a task from its department, and tell the department on its topic."""
    transition(session, task, TaskAction.supersede, actor=actor, reason=reason, now=now)
    await outbox.put(
        session,
        TaskWithdrawn(**task_event_fields(task, now), actor=actor, reason=mask_text(reason)),
    )


# What the citizen reads while a coordinator decides the lead: departments refused it (退单), the
# demand names only a place above the matter's handling level, or the lists name no owner.
DISPUTE_NOTE = "承办部门存在争议，由上级协调员裁定承办部门。"


PLACE_UNCERTAIN_NOTE = "正在核实具体属地，由上级协调员指定承办部门。"


NO_OWNER_NOTE = "该事项暂无明确承办部门，由上级协调员指定承办部门。"
