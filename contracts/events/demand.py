"""Events of the demand pipeline: received, classified, sent to triage, status changed."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts import topics
from contracts.events.base import Event
from contracts.jurisdiction import Level, UnitCode


class Channel(StrEnum):
    hotline = "hotline"
    app = "app"
    mini_program = "mini_program"
    web = "web"
    grid_worker = "grid_worker"
    open311 = "open311"


class DemandType(StrEnum):
    consult = "consult"  # 咨询
    help = "help"  # 求助
    complaint = "complaint"  # 投诉
    report = "report"  # 举报
    suggestion = "suggestion"  # 建议


class Urgency(StrEnum):
    normal = "normal"  # 一般
    urgent = "urgent"  # 紧急
    critical = "critical"  # 特急


class DemandStatus(StrEnum):
    received = "received"
    triage = "triage"  # waiting for an operator to classify by hand
    assigned = "assigned"
    signed = "signed"
    replied = "replied"
    closed = "closed"


class Location(BaseModel):
    """Where the demand is: a unit code, an address text, a point, or several of them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit_code: UnitCode | None = None
    address: str | None = Field(default=None, max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class Citizen(BaseModel):
    """Personal data. The data list lets only the lead department and the callback see it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=32)


class DemandReceived(Event):
    TYPE: ClassVar[str] = "cn.liandong.demand.received.v1"

    channel: Channel
    content: str
    demand_type: DemandType | None
    location: Location
    citizen: Citizen
    matter_code: str | None = Field(
        default=None,
        max_length=40,
        description="the matter the submitter chose (an Open311 service_code): classification "
        "weighs it like a keyword the text matched, so a text that says otherwise can still win",
    )

    def topic(self) -> str:
        return topics.DEMAND_RECEIVED


class DemandClassified(Event):
    """The answer to: which matter, what type, how urgent, where. Carries what routing needs."""

    TYPE: ClassVar[str] = "cn.liandong.demand.classified.v1"

    matter_code: str
    demand_type: DemandType
    urgency: Urgency
    unit_code: UnitCode
    confidence: float = Field(ge=0, le=1)
    rule: str = Field(description="which rule or model produced the answer")
    content: str
    address: str | None
    citizen: Citizen
    level: Level | None = Field(
        default=None,
        description="the level of the power list's rule classification chose on evidence (a "
        "street-level rule for a community's problem); absent: the matter's handling level",
    )

    def topic(self) -> str:
        return topics.DEMAND_CLASSIFIED

    def key(self) -> str:
        """By community: one community's demands reach routing in order, in one partition, so
        its duplicate check sees each one after the one before."""
        return self.unit_code

    def target_unit_code(self) -> str | None:
        return self.unit_code


class DemandTriaged(Event):
    """Sent to the triage queue: the automatic answer is missing or not confident enough."""

    TYPE: ClassVar[str] = "cn.liandong.demand.triaged.v1"

    reason: str
    content: str
    location: Location

    def topic(self) -> str:
        return topics.DEMAND_TRIAGE


class DemandStatusChanged(Event):
    """A citizen-visible step of the demand. Carries no personal data."""

    TYPE: ClassVar[str] = "cn.liandong.demand.status-changed.v1"

    status: DemandStatus
    department_id: str | None = None
    department_name: str | None = None
    note: str | None = Field(default=None, description="text the citizen may see")
    expected_reply_at: AwareDatetime | None = Field(
        default=None,
        description="when the lead department must reply (set with the `assigned` status)",
    )

    def topic(self) -> str:
        return topics.DEMAND_STATUS
