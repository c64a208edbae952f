"""Intake's HTTP request and response bodies (the wire; events live in contracts/)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.events import Channel, DemandStatus, DemandType
from contracts.jurisdiction import Level, UnitCode, chain_of
from contracts.lists import Matter, Unit
from contracts.text import Text


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_code: UnitCode | None = Field(default=None, examples=["330502001016"])
    address: Text | None = Field(default=None, min_length=2, max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _something_given(self) -> LocationIn:
        if (
            self.unit_code is None
            and self.address is None
            and (self.lat is None or self.lon is None)
        ):
            raise ValueError("give a unit_code, an address, or both lat and lon")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon come together")
        return self


class CitizenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(default=None, min_length=1, max_length=100)
    phone: Text | None = Field(default=None, pattern=r"^\+?[0-9][0-9 -]{4,19}$")


class DemandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    content: Text = Field(
        min_length=5, max_length=4000, description="the demand in the citizen's words"
    )
    demand_type: DemandType | None = None
    location: LocationIn
    citizen: CitizenIn = Field(default_factory=CitizenIn)
    matter_code: Text | None = Field(
        default=None,
        max_length=40,
        examples=["ENV-NOISE-LIFE"],
        description="the matter the citizen or the hotline operator chose from the catalogue "
        "(GET /v1/matters); classification weighs it like a keyword the text matched, "
        "so a text that clearly says otherwise still wins",
    )


class DemandAccepted(BaseModel):
    demand_id: uuid.UUID
    tracking_token: str = Field(description="give it back as ?token= to follow the demand")
    status: DemandStatus
    tracking_url: str


# The citizen's words for each status: the tracking view's `status_text` and Open311's
# `status_notes` both read them here.
STATUS_TEXT = {
    DemandStatus.received: "已受理",
    DemandStatus.triage: "人工分拨中",
    DemandStatus.assigned: "已派单",
    DemandStatus.signed: "已签收",
    DemandStatus.replied: "已答复",
    DemandStatus.closed: "已办结",
}


class TimelineItem(BaseModel):
    status: DemandStatus = Field(description="the step, as a code")
    status_text: str = Field(description="the step in Chinese, e.g. 已派单", examples=["已派单"])
    department_name: str | None = Field(description="the department the step concerns, if any")
    note: str | None = Field(
        description="what the citizen is told at this step (a reply, a reason); a received or "
        "assigned step without one gets a short standard note"
    )
    occurred_at: datetime


class DemandView(BaseModel):
    """What the citizen may see: no personal data, no internal notes."""

    demand_id: uuid.UUID
    status: DemandStatus = Field(description="the current step, as a code")
    status_text: str = Field(
        description="the current step in Chinese (the labels of Open311's status_notes)",
        examples=["已派单"],
    )
    channel: Channel
    content: str
    department_name: str | None = Field(
        description="the lead department handling the demand; none before assignment and "
        "while an operator or a coordinator decides who handles it (status triage)"
    )
    expected_reply_at: datetime | None = Field(
        description="when the lead department must reply at the latest; none while no "
        "department handles the demand"
    )
    received_at: datetime
    updated_at: datetime
    timeline: list[TimelineItem]


class CallerLookup(BaseModel):
    """An operator's lookup of a caller: in the body, so the phone stays out of URLs and the
    access logs that record them."""

    model_config = ConfigDict(extra="forbid")

    phone: Text = Field(pattern=r"^\+?[0-9][0-9 -]{4,19}$", description="as the caller gives it")
    limit: int = Field(default=20, ge=1, le=100)


class CallerDemand(BaseModel):
    """One of a caller's earlier demands, as the 12345 centre's operator sees it."""

    demand_id: uuid.UUID
    status: DemandStatus
    status_text: str
    channel: Channel
    content: str
    unit_code: str | None
    address: str | None
    department_name: str | None
    received_at: datetime
    expected_reply_at: datetime | None


# --- the lists, read by front ends and operators ---------------------------------------------


class UnitOut(BaseModel):
    code: str
    name: str
    level: Level
    parent_code: str | None

    @classmethod
    def of(cls, unit: Unit) -> UnitOut:
        chain = chain_of(unit.code)
        return cls(
            code=unit.code,
            name=unit.name,
            level=unit.level,
            parent_code=chain[1] if len(chain) > 1 else None,
        )


class UnitDetail(UnitOut):
    chain: list[UnitOut]
    children: int


class DepartmentOut(BaseModel):
    id: str
    type: str
    type_name: str
    unit_code: str
    name: str


class StageLimitsOut(BaseModel):
    sign: str
    first_contact: str
    reply: str


class MatterOut(BaseModel):
    code: str
    name: str
    category: str
    demand_types: list[str]
    keywords: list[str]
    examples: list[str]
    urgency: str
    handling_level: Level
    limits: dict[str, StageLimitsOut]
    legal_basis: str

    @classmethod
    def of(cls, matter: Matter) -> MatterOut:
        return cls(
            code=matter.code,
            name=matter.name,
            category=matter.category,
            demand_types=[t.value for t in matter.demand_types],
            keywords=list(matter.keywords),
            examples=list(matter.examples),
            urgency=matter.urgency.value,
            handling_level=matter.handling_level,
            limits={
                u.value: StageLimitsOut(
                    sign=str(s.sign), first_contact=str(s.first_contact), reply=str(s.reply)
                )
                for u, s in matter.limits.items()
            },
            legal_basis=matter.legal_basis,
        )


class WithdrawalIn(BaseModel):
    """撤诉: why the citizen withdraws (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: Text | None = Field(default=None, max_length=500, examples=["问题已自行解决"])


class SupplementIn(BaseModel):
    """补充: what the citizen adds; it reaches the lead department."""

    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=1, max_length=2000, examples=["噪音主要在晚上十点以后"])
