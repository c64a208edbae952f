"""Routing's HTTP bodies for departments."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import ReplyResult, TaskRole
from services.routing.models import Task
from services.routing.state import TaskState


class CitizenContact(BaseModel):
    name: str | None
    phone: str | None


class TaskView(BaseModel):
    task_id: uuid.UUID
    demand_id: uuid.UUID
    role: TaskRole
    state: TaskState
    version: int
    department_id: str
    department_name: str
    demand_unit_code: str
    matter_code: str
    demand_type: str
    urgency: str
    content: str
    address: str | None
    citizen: CitizenContact | None = Field(
        description="the citizen's contact; the data list shows it to the lead department only"
    )
    sign_due_at: datetime
    reply_due_at: datetime
    reply_result: ReplyResult | None
    reply_text: str | None
    rule: str
    lists_version: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, task: Task) -> TaskView:
        is_lead = task.role == TaskRole.lead.value
        return cls(
            task_id=task.id,
            demand_id=task.demand_id,
            role=TaskRole(task.role),
            state=TaskState(task.state),
            version=task.version,
            department_id=task.department_id,
            department_name=task.department_name,
            demand_unit_code=task.demand_unit_code,
            matter_code=task.matter_code,
            demand_type=task.demand_type,
            urgency=task.urgency,
            content=task.content,
            address=task.address,
            citizen=CitizenContact(name=task.citizen_name, phone=task.citizen_phone)
            if is_lead
            else None,
            sign_due_at=task.sign_due_at,
            reply_due_at=task.reply_due_at,
            reply_result=ReplyResult(task.reply_result) if task.reply_result else None,
            reply_text=task.reply_text,
            rule=task.rule,
            lists_version=task.lists_version,
            created_at=task.created_at,
            updated_at=task.updated_at,
        )


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: ReplyResult
    reply_text: str = Field(
        min_length=2, max_length=4000, description="the answer shown to the citizen"
    )
