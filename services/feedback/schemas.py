"""Feedback's HTTP request and response bodies: evaluations, callbacks and league tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import Satisfaction
from contracts.jurisdiction import Level
from contracts.text import Text
from services.feedback import rates


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolved: bool = Field(description="is the problem solved, in the citizen's view")
    satisfaction: Satisfaction
    comment: Text | None = Field(default=None, max_length=2000)


class EvaluationOut(BaseModel):
    demand_id: uuid.UUID
    state: str
    resolved: bool
    satisfaction: Satisfaction
    evaluated_by: str


class CallbackView(BaseModel):
    """What the operator needs to phone the citizen about a reply."""

    demand_id: uuid.UUID
    department_name: str | None
    reply_text: str | None
    replied_at: datetime
    evaluate_by: datetime
    reply_round: int
    citizen_phone: str | None = Field(description="personal data: for the callback only")


class Figures(BaseModel):
    assigned: int = Field(description="tasks assigned in the month")
    responded_on_time: int = Field(description="of those, signed or returned by the sign limit")
    returned: int
    replied: int = Field(description="replies given in the month")
    replied_on_time: int
    evaluated: int = Field(description="evaluations given in the month")
    resolved: int
    satisfied: int = Field(description="satisfied or basically satisfied")
    redo: int = Field(description="tasks sent back for a redo (重办) in the month")
    not_evaluated: int = Field(description="callbacks closed unanswered (counted apart)")
    praised: int = Field(
        default=0, description="praise (表扬) passed on at the desk: a plus, in no rate"
    )
    withdrawn: int = Field(
        default=0, description="demands their citizens withdrew (撤诉): in no rate, not resolved"
    )
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    on_time_reply_rate: float | None
    return_rate: float | None
    redo_rate: float | None

    @classmethod
    def of(cls, figures: rates.Figures) -> Figures:
        return cls.model_validate(figures.as_dict())


class HotSpotOut(BaseModel):
    matter_code: str
    matter_name: str
    count: int = Field(description="demands in the month")
    previous: int = Field(description="demands in the month before")
    growth: int


class RankingRow(BaseModel):
    rank: int
    unit_code: str
    name: str
    department_id: str | None = None
    figures: Figures
    hotspots: list[HotSpotOut] = Field(default_factory=list)


class Ranking(BaseModel):
    month: str
    by: Literal["unit", "department"]
    level: Level | None
    within: str
    sort: str
    rows: list[RankingRow]


class MonthFigures(BaseModel):
    month: str
    figures: Figures


class RatesByMonth(BaseModel):
    """A unit with its whole subtree, month by month, oldest first."""

    unit_code: str
    name: str
    months: list[MonthFigures]


class HotSpots(BaseModel):
    unit_code: str
    name: str
    month: str
    hotspots: list[HotSpotOut]
