"""Events of the front desk: a contact that leaves the triage queue without being routed —
answered at the desk (直接办结), praise passed on, closed as invalid, merged into a demand."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from contracts import topics
from contracts.events.base import Event
from contracts.events.demand import Citizen
from contracts.jurisdiction import UnitCode

# Who answers at the desk: the 12345 centre itself, so the evaluation of a desk answer is the
# centre's, counted apart from every department's.
DESK_DEPARTMENT_ID = "12345"
DESK_DEPARTMENT_NAME = "12345热线"


class DeskExit(StrEnum):
    """The ways out of the triage queue besides classifying by hand (分拨)."""

    consultation = "consultation"  # 咨询直接办结: answered from the knowledge base
    praise = "praise"  # 表扬/感谢: passed on to the department
    invalid = "invalid"  # 无效/骚扰: closed with a reason
    merge = "merge"  # 重复来电: merged into an existing demand


class InvalidReason(StrEnum):
    spam = "spam"  # 骚扰、广告
    no_content = "no_content"  # 无实质内容、无声来电、误拨
    abusive = "abusive"  # 辱骂
    test = "test"  # 测试
    outside_remit = "outside_remit"  # 不属于12345受理范围（如刑事警情应拨110）


class DemandAnsweredAtDesk(Event):
    """A consultation answered at the desk from the knowledge base: the demand is closed as
    直接办结 and the citizen evaluates the answer like any reply. It travels with the demand's
    personal data on the topic that already carries it, for the callback alone."""

    TYPE: ClassVar[str] = "cn.liandong.demand.answered-at-desk.v1"

    answer: str = Field(min_length=1, max_length=2000, description="the answer the citizen gets")
    knowledge_entry_id: UUID | None = Field(
        default=None, description="the knowledge-base entry the answer came from, if any"
    )
    matter_code: str | None = Field(default=None, max_length=40)
    unit_code: UnitCode | None = None
    operator: str = Field(max_length=200, description="who answered")
    citizen: Citizen

    def topic(self) -> str:
        return topics.DEMAND_CLASSIFIED


class DemandMergedAtDesk(Event):
    """The contact repeats a demand already being handled: it follows that demand (its status,
    reply and callback), and its citizen evaluates the reply as their own."""

    TYPE: ClassVar[str] = "cn.liandong.demand.merged-at-desk.v1"

    into_demand_id: UUID = Field(description="the demand this contact now follows")
    content: str = Field(description="the contact's own words")
    operator: str = Field(max_length=200)
    citizen: Citizen

    def topic(self) -> str:
        return topics.DEMAND_CLASSIFIED


class DemandClosedAsInvalid(Event):
    """Spam or an invalid contact, closed at the desk with a reason (audited: who and why)."""

    TYPE: ClassVar[str] = "cn.liandong.demand.closed-as-invalid.v1"

    reason: InvalidReason
    note: str | None = Field(default=None, max_length=500)
    operator: str = Field(max_length=200)

    def topic(self) -> str:
        return topics.DEMAND_TRIAGE


class DepartmentPraised(Event):
    """表扬/感谢 for a department, passed on to it as information on its task topic; feedback
    counts it per department and month apart from the three rates. No personal data."""

    TYPE: ClassVar[str] = "cn.liandong.task.department-praised.v1"

    department_id: str
    department_name: str
    unit_code: UnitCode = Field(description="the unit of the praised department")
    content: str = Field(max_length=2000, description="the praise, personal data masked")
    operator: str = Field(max_length=200)

    def topic(self) -> str:
        return topics.tasks_topic(self.unit_code)

    def target_unit_code(self) -> str | None:
        return self.unit_code

    def target_department_id(self) -> str | None:
        return self.department_id
