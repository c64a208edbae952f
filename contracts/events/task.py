"""Events of a task on its department's chain topic. No personal data: the lead reads the
citizen's contact through the task API, where the data list is enforced per caller."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts import topics
from contracts.events.base import Event
from contracts.events.demand import DemandType, Urgency
from contracts.jurisdiction import UnitCode


class TaskRole(StrEnum):
    lead = "lead"  # 主办
    co_handler = "co_handler"  # 协办


class ReturnReason(StrEnum):
    not_our_duty = "not_our_duty"  # 非本单位职责
    wrong_location = "wrong_location"  # 属地不符
    duplicate = "duplicate"  # 重复工单
    insufficient_information = "insufficient_information"  # 信息不全无法办理
    other = "other"


class ReplyResult(StrEnum):
    resolved = "resolved"  # 已解决
    explained = "explained"  # 已解释说明
    not_resolvable = "not_resolvable"  # 暂不具备解决条件


class TaskEvent(Event):
    """Common part of every task event: which task, which department, where."""

    task_id: UUID
    department_id: str
    unit_code: UnitCode = Field(description="the unit of the department that owns the task")

    def topic(self) -> str:
        return topics.tasks_topic(self.unit_code)

    def key(self) -> str:
        return str(self.task_id)

    def subject(self) -> str:
        return f"task/{self.task_id}"

    def target_unit_code(self) -> str | None:
        return self.unit_code

    def target_department_id(self) -> str | None:
        return self.department_id


class TaskAssigned(TaskEvent):
    TYPE: ClassVar[str] = "cn.liandong.task.assigned.v1"

    role: TaskRole
    department_name: str
    demand_unit_code: UnitCode = Field(description="where the demand is")
    matter_code: str
    demand_type: DemandType
    urgency: Urgency
    content: str
    address: str | None
    sign_due_at: AwareDatetime
    reply_due_at: AwareDatetime
    lists_version: str
    rule: str = Field(description="the power-list rule that chose this department")


class TaskSigned(TaskEvent):
    TYPE: ClassVar[str] = "cn.liandong.task.signed.v1"

    actor: str


class TaskReplied(TaskEvent):
    TYPE: ClassVar[str] = "cn.liandong.task.replied.v1"

    actor: str
    result: ReplyResult
    reply_text: str = Field(description="the answer shown to the citizen")


class TaskContacted(TaskEvent):
    """First contact with the citizen (先行联系)."""

    TYPE: ClassVar[str] = "cn.liandong.task.contacted.v1"

    actor: str


class TaskReturned(TaskEvent):
    """The department gives the task back (退单) with its reason and legal basis."""

    TYPE: ClassVar[str] = "cn.liandong.task.returned.v1"

    actor: str
    reason_code: ReturnReason
    legal_basis: str
    returns_of_demand: int = Field(description="returns of this demand's lead task so far")


class TaskExtensionRequested(TaskEvent):
    """The lead asks for more time before its reply deadline (延期申请)."""

    TYPE: ClassVar[str] = "cn.liandong.task.extension-requested.v1"

    extension_id: UUID
    actor: str
    requested: str = Field(description="the extra time, e.g. '5 working_days'")
    reason: str
    coordinator_unit_code: UnitCode


class TaskExtensionDecided(TaskEvent):
    """The coordinator approves or refuses the extension; approval moves the reply deadline."""

    TYPE: ClassVar[str] = "cn.liandong.task.extension-decided.v1"

    extension_id: UUID
    approved: bool
    decided_by: str
    reply_due_at: AwareDatetime = Field(description="the reply deadline after the decision")


class TaskWithdrawn(TaskEvent):
    """The task is taken from the department: reassigned by a coordinator, or its co-handler
    department became the lead. The department stops work on it."""

    TYPE: ClassVar[str] = "cn.liandong.task.withdrawn.v1"

    actor: str
    reason: str


class TaskSupplemented(TaskEvent):
    """补充: the citizen added to the demand; the lead department reads it with the task."""

    TYPE: ClassVar[str] = "cn.liandong.task.supplemented.v1"

    text: str = Field(max_length=2000, description="the addition, phone and ID numbers masked")


class DepartmentSummoned(TaskEvent):
    """吹哨报到: the coordinator summons the department to the scene of a task; arrival is due."""

    TYPE: ClassVar[str] = "cn.liandong.task.summoned.v1"

    summons_id: UUID
    lead_task_id: UUID
    actor: str
    arrive_by: AwareDatetime
    note: str


class Stage(StrEnum):
    """A clock of the task: the department's three stages, a summons' arrival, and the
    coordinator's time to act once the task has been escalated to it."""

    sign = "sign"  # 签收
    first_contact = "first_contact"  # 先行联系
    reply = "reply"  # 办结
    arrival = "arrival"  # 报到 of a summoned department
    coordinator = "coordinator"  # the coordinator holding an escalated task
    redo = "redo"  # 重办 once more than the allowed redos: the coordinator decides


class TaskReminded(TaskEvent):
    """催办: a configured share of a stage's window has passed; the deadline is near."""

    TYPE: ClassVar[str] = "cn.liandong.task.reminded.v1"

    stage: Stage
    due_at: AwareDatetime


class TaskRedoRequested(TaskEvent):
    """重办: the citizen found the reply unresolved or was dissatisfied; the lead replies again
    by a new deadline."""

    TYPE: ClassVar[str] = "cn.liandong.task.redo-requested.v1"

    redo: int = Field(ge=1, description="how many times this task has been sent back")
    resolved: bool
    satisfaction: str = Field(description="satisfied, basically_satisfied or dissatisfied")
    comment: str | None = Field(description="the citizen's words, phone and ID numbers masked")
    reply_due_at: AwareDatetime
    escalated: bool = Field(description="more redos than allowed: the coordinator above decides")
