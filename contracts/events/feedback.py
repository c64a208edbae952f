"""Events of the citizen's evaluation."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

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
