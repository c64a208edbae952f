"""Events of the callback (回访) and the citizen's evaluation."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from contracts import topics
from contracts.events.base import Event


class Satisfaction(StrEnum):
    satisfied = "satisfied"  # 满意
    basically_satisfied = "basically_satisfied"  # 基本满意
    dissatisfied = "dissatisfied"  # 不满意


class DemandEvaluated(Event):
    TYPE: ClassVar[str] = "cn.liandong.demand.evaluated.v1"

    resolved: bool
    satisfaction: Satisfaction
    comment: str | None = Field(default=None, max_length=2000)

    def topic(self) -> str:
        return topics.DEMAND_EVALUATED


class DemandNotEvaluated(Event):
    """No evaluation came within the window (未评价): the demand closes as not evaluated, which
    the three rates count apart from the evaluations."""

    TYPE: ClassVar[str] = "cn.liandong.demand.not-evaluated.v1"

    department_id: str | None = Field(description="the lead department whose reply was not rated")
    replied_at: AwareDatetime = Field(description="when the reply opened the callback")
    evaluate_by: AwareDatetime = Field(description="the end of the evaluation window")

    def topic(self) -> str:
        return topics.DEMAND_EVALUATED


class CallbackRequested(Event):
    """回访: ask the citizen to rate the reply, by SMS or app. Read only by the notification
    gateway: it carries the citizen's phone (personal data) and the evaluation link, whose
    token lets its holder evaluate the demand."""

    TYPE: ClassVar[str] = "cn.liandong.citizen.callback-requested.v1"

    department_id: str | None
    department_name: str | None = Field(description="the department that replied")
    reply_text: str | None = Field(description="the reply as the citizen may see it")
    reply_round: int = Field(ge=1, description="1 for the first reply, 2 after a redo, ...")
    evaluation_url: str = Field(description="the tokenised evaluation link for the citizen")
    evaluate_by: AwareDatetime = Field(
        description="after this time the demand closes as not evaluated"
    )
    citizen_phone: str | None = Field(
        default=None,
        max_length=32,
        description="personal data: where to send the SMS; none when the citizen left no phone",
    )

    def topic(self) -> str:
        return topics.CITIZEN_NOTIFICATIONS
