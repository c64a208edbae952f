"""Events for the coordinators of the chain, on the escalation topics. Ids and reasons only,
never personal data."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from contracts import topics
from contracts.events.base import Event
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
