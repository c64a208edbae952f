"""Classification's HTTP request and response bodies: the triage queue as operators see it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import DemandType, Urgency
from contracts.jurisdiction import UnitCode
from contracts.text import Text
from services.classification.models import TriageItem


class TriageItemOut(BaseModel):
    """What the operator needs to decide; the citizen's contact is not shown here."""

    demand_id: uuid.UUID
    state: str
    reason: str
    content: str
    demand_type: str | None
    unit_code: str | None
    address: str | None
    lat: float | None
    lon: float | None
    suggestions: dict[str, Any]
    urgency: Urgency = Field(
        description="what the rules say: critical on a cue in the text, else the matter's own "
        "when only the unit was uncertain, else normal; the queue lists critical first"
    )
    urgency_cue: str | None = Field(
        description="the critical cue found in the text (燃气泄漏, 被困 …), if any"
    )
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None

    @classmethod
    def of(cls, item: TriageItem) -> TriageItemOut:
        return cls.model_validate(item, from_attributes=True)


class ManualClassification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matter_code: Text = Field(examples=["ENV-NOISE-LIFE"], max_length=40)
    unit_code: UnitCode = Field(examples=["330502001016"])
    demand_type: DemandType | None = Field(
        default=None, description="default: the citizen's, else the matter's"
    )
    urgency: Urgency | None = Field(
        default=None, description="default: from the text and the matter"
    )
