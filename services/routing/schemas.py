"""Routing's HTTP bodies for departments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from contracts.events import ReplyResult, ReturnReason, TaskRole
from contracts.lists import DataList
from contracts.lists.calendar import LimitUnit, TimeLimit
from contracts.text import Text
from services.routing.models import DemandLink, Escalation, Task
from services.routing.state import TaskState
from services.runtime.logging import mask_text
from services.runtime.masking import mask_known


class CitizenContact(BaseModel):
    name: str | None
    phone: str | None


class TaskView(BaseModel):
    """A task as the caller's role may see it under the data list: a field the role may not
    see is null (the citizen's contact is shown to the lead department only)."""

    task_id: uuid.UUID
    role: TaskRole
    demand_id: uuid.UUID | None = None
    state: TaskState | None = None
    version: int | None = None
    department_id: str | None = None
    department_name: str | None = None
    demand_unit_code: str | None = None
    matter_code: str | None = None
    demand_type: str | None = None
    urgency: str | None = None
    content: str | None = None
    address: str | None = None
    citizen: CitizenContact | None = None
    sign_due_at: datetime | None = None
    first_contact_due_at: datetime | None = None
    reply_due_at: datetime | None = None
    deadlines_provisional: bool | None = Field(
        default=None, description="computed past the published holiday calendar"
    )
    reply_result: ReplyResult | None = None
    reply_text: str | None = None
    rule: str | None = Field(
        default=None, description="the power-list rule that chose the department"
    )
    lists_version: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    escalated_to: str | None = Field(
        default=None, description="the coordinator's unit that holds the late task (督办), if any"
    )
    escalation_level: int | None = Field(
        default=None, description="steps above the department's unit; null when not escalated"
    )
    supervised: bool | None = Field(default=None, description="supervised by the city (督办)")
    redos: int | None = Field(default=None, description="times the citizen sent the reply back")

    @classmethod
    def of(cls, task: Task, data_list: DataList, *, as_role: str | None = None) -> TaskView:
        """The task as `as_role` (default: the task's own role) may see it under the data list;
        a department whose task was returned or withdrawn no longer sees the citizen."""
        payload = {
            "task_id": task.id,
            "role": TaskRole(task.role),
            "demand_id": task.demand_id,
            "state": TaskState(task.state),
            "version": task.version,
            "department_id": task.department_id,
            "department_name": task.department_name,
            "demand_unit_code": task.demand_unit_code,
            "matter_code": task.matter_code,
            "demand_type": task.demand_type,
            "urgency": task.urgency,
            "content": task.content,
            "address": task.address,
            "citizen": CitizenContact(name=task.citizen_name, phone=task.citizen_phone),
            "sign_due_at": task.sign_due_at,
            "first_contact_due_at": task.first_contact_due_at,
            "reply_due_at": task.reply_due_at,
            "deadlines_provisional": task.deadlines_provisional,
            "reply_result": ReplyResult(task.reply_result) if task.reply_result else None,
            "reply_text": task.reply_text,
            "rule": task.rule,
            "lists_version": task.lists_version,
            "created_at": task.created_at,
            "updated_at": task.updated_at,
            "escalated_to": task.escalated_to,
            "escalation_level": task.escalation_level,
            "supervised": task.supervised,
            "redos": task.redos,
        }
        visible = data_list.apply(as_role or task.role, payload)
        if task.state in (TaskState.returned.value, TaskState.superseded.value):
            visible.pop("citizen", None)
        if "citizen" not in visible:
            # Whoever may not see the citizen's contact does not read it in the free text either
            # (citizens often write their number into the demand; clerks into the reply).
            for key in ("content", "reply_text"):
                if visible.get(key):
                    visible[key] = mask_known(mask_text(visible[key]), [task.citizen_name or ""])
        return cls(
            task_id=task.id,
            role=TaskRole(task.role),
            **{k: v for k, v in visible.items() if k not in ("task_id", "role")},
        )


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: ReplyResult
    reply_text: Text = Field(
        min_length=2, max_length=4000, description="the answer shown to the citizen"
    )


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: ReturnReason
    legal_basis: Text = Field(
        min_length=4,
        max_length=1000,
        description="why it is not this department's, by law or the lists",
    )


class CitesLaw(BaseModel):
    """依法: the legal basis of a decision, cited from the lists (the matter's own) or typed
    in, and the reason. `law_required`: the body must carry one (422 naming `legal_basis`);
    otherwise the use case decides (a reassignment and a refusal must, an added co-handler
    and an approval need not)."""

    model_config = ConfigDict(extra="forbid")

    legal_basis_from_lists: bool = Field(
        default=False, description="cite the legal basis the matter catalogue gives the matter"
    )
    legal_basis: Text | None = Field(
        default=None,
        max_length=1000,
        description="the law and article, typed in (required unless cited from the lists)",
        validate_default=True,
    )
    reason: Text | None = Field(default=None, max_length=1000)
    law_required: ClassVar[bool] = True

    @field_validator("legal_basis")
    @classmethod
    def _cites_law(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = value.strip() if value else None
        if value is not None and len(value) < 4:
            raise ValueError("a legal basis names a law and its article (at least 4 characters)")
        if value is None and cls.law_required and not info.data.get("legal_basis_from_lists"):
            raise ValueError("required: type the law and article, or set legal_basis_from_lists")
        return value


class RulingIn(CitesLaw):
    lead_department_id: Text = Field(examples=["330502000000.urban_management"])
    co_handler_department_ids: list[Text] = Field(default_factory=list, max_length=10)


class DisputeView(BaseModel):
    dispute_id: uuid.UUID
    demand_id: uuid.UUID
    coordinator_unit_code: str
    state: str
    reason: str
    returned_by: list[str]
    created_at: datetime
    ruled_by: str | None
    ruled_at: datetime | None
    ruling: list[str]


class OpenTasksPage(BaseModel):
    """One page of the open tasks of a coordinator's jurisdiction, as a coordinator may see
    them (no citizen contact), the nearest deadline first."""

    total: int = Field(description="open tasks matching the filters, on every page")
    limit: int
    offset: int
    tasks: list[TaskView]


class OpenTaskCounts(BaseModel):
    """The open tasks of a jurisdiction, counted: all, late on their current stage, escalated."""

    unit_code: str
    open: int
    late: int
    escalated: int


class EscalationView(BaseModel):
    """One step of a task's climb (ids and reasons, never personal data)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    demand_id: uuid.UUID
    department_id: str
    unit_code: str
    coordinator_unit_code: str = Field(description="the coordinator holding the task at this step")
    matter_code: str
    stage: str = Field(description="the clock that ran out: sign, first_contact, reply, ...")
    level: int = Field(description="steps above the department's unit")
    supervised: bool = Field(description="督办 at the city")
    due_at: datetime
    act_by: datetime | None
    reason: str
    state: str = Field(description="open, climbed (went higher) or resolved")
    opened_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    closed_reason: str | None

    @classmethod
    def of(cls, escalation: Escalation) -> EscalationView:
        return cls.model_validate(escalation)


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requested: Text = Field(examples=["5 working_days"], description="the extra time asked for")
    reason: Text = Field(min_length=4, max_length=1000)

    @field_validator("requested")
    @classmethod
    def _is_a_time_limit(cls, value: str) -> str:
        limit = TimeLimit.parse(value)
        longest = 60 if limit.unit is LimitUnit.working_days else 720
        if limit.amount > longest:
            raise ValueError(f"an extension is at most {longest} {limit.unit.value}")
        return value


class DecisionIn(CitesLaw):
    """A refusal carries its legal basis (checked by the use case); an approval may."""

    approve: bool
    note: Text | None = Field(default=None, max_length=1000)
    law_required: ClassVar[bool] = False


class ExtensionView(BaseModel):
    id: uuid.UUID
    task_id: uuid.UUID
    demand_id: uuid.UUID
    coordinator_unit_code: str
    requested: str
    reason: str
    state: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    act_by: datetime | None = Field(
        description="the coordinator's deadline to decide; past it the request climbs"
    )
    supervised: bool = Field(description="waiting at the city, supervised (督办)")


class TimelineStep(BaseModel):
    at: datetime
    task_id: uuid.UUID
    role: str
    department_id: str
    department_name: str
    action: str
    from_state: str | None
    to_state: str
    actor: str
    reason: str | None


class ReassignIn(CitesLaw):
    """A reassignment (改派) carries its legal basis (checked by the use case: adding a
    co-handler, which shares this body, need not)."""

    department_id: Text = Field(examples=["330502000000.market_regulation"])
    reason: Text = Field(min_length=4, max_length=1000)
    law_required: ClassVar[bool] = False


class SummonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department_ids: list[Text] = Field(min_length=1, max_length=20)
    arrive_within_minutes: int = Field(default=30, ge=5, le=24 * 60)
    note: Text = Field(min_length=2, max_length=1000, description="where and why")


class SummonsView(BaseModel):
    id: uuid.UUID
    task_id: uuid.UUID
    demand_id: uuid.UUID
    department_id: str
    summoned_by: str
    note: str
    summoned_at: datetime
    arrive_by: datetime
    arrived_at: datetime | None


class LinkView(BaseModel):
    id: uuid.UUID
    demand_id: uuid.UUID
    task_id: uuid.UUID
    original_demand_id: uuid.UUID
    similarity: float
    department_name: str
    created_at: datetime

    @classmethod
    def of(cls, link: DemandLink, task: Task) -> LinkView:
        return cls(
            id=link.id,
            demand_id=link.demand_id,
            task_id=link.task_id,
            original_demand_id=link.original_demand_id,
            similarity=link.similarity,
            department_name=task.department_name,
            created_at=link.created_at,
        )
