"""Classification's HTTP request and response bodies: the triage queue as operators see it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events import DemandType, InvalidReason, Urgency
from contracts.jurisdiction import UnitCode
from contracts.text import Text
from services.classification.models import KnowledgeEntry, TriageItem


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


class ConsultationAnswer(BaseModel):
    """直接办结: the answer the citizen gets (from the knowledge base, or the operator's)."""

    model_config = ConfigDict(extra="forbid")

    answer: Text | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="default: the knowledge-base entry's answer",
        examples=["居住证可在户籍窗口办理。"],
    )
    matter_code: Text | None = Field(default=None, max_length=40)
    knowledge_entry_id: uuid.UUID | None = Field(
        default=None, description="the valid entry the answer comes from"
    )


class PraiseRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department_id: Text = Field(max_length=100, examples=["330502001000.street-office"])


class InvalidClosure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: InvalidReason
    note: Text | None = Field(default=None, max_length=500)


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into_demand_id: uuid.UUID = Field(description="the routed demand this contact repeats")


class KnowledgeEntryIn(BaseModel):
    """A knowledge-base entry as its department writes it."""

    model_config = ConfigDict(extra="forbid")

    question: Text = Field(min_length=2, max_length=500, examples=["居住证怎么办理？"])
    answer: Text = Field(min_length=2, max_length=4000)
    matters: list[Text] = Field(default_factory=list, max_length=20, examples=[["PUBSEC-HUKOU"]])
    valid_from: AwareDatetime | None = Field(default=None, description="default: now")
    valid_to: AwareDatetime | None = Field(
        default=None, description="after it the entry is not offered (none: until changed)"
    )


class KnowledgeEntryOut(BaseModel):
    id: uuid.UUID
    department_id: str
    question: str
    answer: str
    matters: list[str]
    valid_from: datetime
    valid_to: datetime | None
    updated_by: str
    updated_at: datetime
    rank: float | None = Field(default=None, description="relevance to the searched text")

    @classmethod
    def of(cls, entry: KnowledgeEntry, rank: float | None = None) -> KnowledgeEntryOut:
        fields = {name: getattr(entry, name) for name in cls.model_fields if name != "rank"}
        return cls(**fields, rank=rank)
