"""Events for the coordinators of the chain, on the escalation topics. Ids and reasons only,
never personal data."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts import topics
from contracts.events.base import Event
from contracts.events.task import Stage
from contracts.jurisdiction import UnitCode


class DisputeEvent(Event):
    dispute_id: UUID
    coordinator_unit_code: UnitCode = Field(description="the unit whose coordinator arbitrates")

    def topic(self) -> str:
        return topics.escalations_topic(self.coordinator_unit_code)

    def key(self) -> str:
        return str(self.dispute_id)

    def subject(self) -> str:
        return f"dispute/{self.dispute_id}"

    def target_unit_code(self) -> str | None:
        return self.coordinator_unit_code


class DisputeOpened(DisputeEvent):
    """Returned too often, or no candidate left: the coordinator must name the owner (争议)."""

    TYPE: ClassVar[str] = "cn.liandong.dispute.opened.v1"

    matter_code: str
    demand_unit_code: UnitCode
    returned_by: list[str] = Field(description="department ids that returned the task, in order")
    reason: str


class DisputeRuled(DisputeEvent):
    """The coordinator's ruling (裁定): final for the task."""

    TYPE: ClassVar[str] = "cn.liandong.dispute.ruled.v1"

    lead_department_id: str
    co_handler_department_ids: list[str]
    ruled_by: str


class DisputeEscalated(DisputeEvent):
    """The coordinator did not rule in time: the dispute climbs to the coordinator above, which
    now rules; at the city it is supervised (督办) and stays there until ruled."""

    TYPE: ClassVar[str] = "cn.liandong.dispute.escalated.v1"

    from_unit_code: UnitCode = Field(description="the coordinator that did not rule in time")
    supervised: bool
    act_by: AwareDatetime | None = Field(description="the new coordinator's deadline")
    matter_code: str


class ExtensionEscalated(Event):
    """The coordinator did not decide an extension request (延期申请) in time: it climbs to the
    coordinator above, which now decides; at the city it is supervised (督办) and waits there.
    The lead's reply deadline keeps running meanwhile."""

    TYPE: ClassVar[str] = "cn.liandong.extension.escalated.v1"

    extension_id: UUID
    task_id: UUID
    coordinator_unit_code: UnitCode = Field(description="the coordinator that now decides")
    from_unit_code: UnitCode = Field(description="the coordinator that did not decide in time")
    supervised: bool
    act_by: AwareDatetime | None = Field(description="the new coordinator's deadline")
    requested: str = Field(description="the extra time asked for, e.g. '5 working_days'")
    reply_due_at: AwareDatetime = Field(description="the lead's reply deadline, still running")

    def topic(self) -> str:
        return topics.escalations_topic(self.coordinator_unit_code)

    def key(self) -> str:
        return str(self.extension_id)

    def subject(self) -> str:
        return f"extension/{self.extension_id}"

    def target_unit_code(self) -> str | None:
        return self.coordinator_unit_code


class TaskEscalationEvent(Event):
    """An escalated task, on the escalation topic of the coordinator holding it; keyed by task,
    so a watcher sees one task's climb in order."""

    escalation_id: UUID
    task_id: UUID
    department_id: str = Field(description="the department that holds the task")
    unit_code: UnitCode = Field(description="the unit of that department")
    coordinator_unit_code: UnitCode = Field(description="the coordinator now holding the task")

    def topic(self) -> str:
        return topics.escalations_topic(self.coordinator_unit_code)

    def key(self) -> str:
        return str(self.task_id)

    def subject(self) -> str:
        return f"task/{self.task_id}"

    def target_unit_code(self) -> str | None:
        return self.coordinator_unit_code

    def target_department_id(self) -> str | None:
        return self.department_id


class TaskEscalated(TaskEscalationEvent):
    """A clock ran out (超时): the task goes up to the next coordinator of its chain, which must
    act (reassign, summon, extend, arbitrate) by `act_by`; at the city it is supervised (督办)
    and stays there until acted on."""

    TYPE: ClassVar[str] = "cn.liandong.task.escalated.v1"

    stage: Stage = Field(description="the clock that ran out")
    due_at: AwareDatetime = Field(description="when that clock ran out")
    level: int = Field(ge=1, description="steps above the department's unit (1: its parent)")
    supervised: bool = Field(description="督办: at the city, no higher level to climb to")
    act_by: AwareDatetime | None = Field(description="the coordinator's deadline; none at the city")
    matter_code: str
    reason: str


class TaskEscalationResolved(TaskEscalationEvent):
    """Someone acted: the department completed the late stage, a coordinator acted on the task,
    or the task left its department. The coordinator's clock stops."""

    TYPE: ClassVar[str] = "cn.liandong.task.escalation-resolved.v1"

    resolved_by: str
    reason: str
