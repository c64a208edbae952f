"""Events of a citizen's own acts on a demand with its tracking token: withdraw it (撤诉), add
to it (补充). Intake announces them on the demand's first topic; classification passes them on
to routing beside the demand's classification, so routing never sees one before the tasks."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from contracts import topics
from contracts.events.base import Event
from contracts.jurisdiction import UnitCode


class DemandWithdrawn(Event):
    """撤诉: the citizen withdrew the demand; it closes as withdrawn, not resolved."""

    TYPE: ClassVar[str] = "cn.liandong.demand.withdrawn.v1"

    reason: str | None = Field(default=None, max_length=500, description="in the citizen's words")

    def topic(self) -> str:
        return topics.DEMAND_RECEIVED


class DemandSupplemented(Event):
    """补充: the citizen added to the demand; the text reaches the lead department's task."""

    TYPE: ClassVar[str] = "cn.liandong.demand.supplemented.v1"

    text: str = Field(min_length=1, max_length=2000)

    def topic(self) -> str:
        return topics.DEMAND_RECEIVED


class RoutedDemandWithdrawn(Event):
    """A withdrawal passed on to routing: the demand's open tasks are withdrawn. Keyed by the
    demand's unit, like `demand.classified`, so it follows the classification in order."""

    TYPE: ClassVar[str] = "cn.liandong.demand.withdrawal-routed.v1"

    unit_code: UnitCode
    reason: str | None = Field(default=None, max_length=500)

    def topic(self) -> str:
        return topics.DEMAND_CLASSIFIED

    def key(self) -> str:
        return self.unit_code


class RoutedDemandSupplemented(Event):
    """An addition passed on to routing: it reaches the lead task's department."""

    TYPE: ClassVar[str] = "cn.liandong.demand.supplement-routed.v1"

    unit_code: UnitCode
    text: str = Field(min_length=1, max_length=2000)

    def topic(self) -> str:
        return topics.DEMAND_CLASSIFIED

    def key(self) -> str:
        return self.unit_code
