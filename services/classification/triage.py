"""The triage queue (人工分拨): operators list pending demands and classify them by hand; the
decision continues the flow exactly as an automatic one and is kept as a training example."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, select

from contracts.events import Citizen, DemandType, Urgency
from contracts.jurisdiction import UnitCode
from contracts.text import Text
from services.classification.handlers import publish_classified
from services.classification.models import LabelledExample, TriageItem
from services.classification.rules import urgency_of
from services.runtime.auth import CurrentPrincipal, Principal, Role
from services.runtime.http import RuntimeDep, Unprocessable

router = APIRouter(prefix="/v1/triage", tags=["triage"])


def operator_of(principal: CurrentPrincipal) -> Principal:
    if principal.role is not Role.operator:
        raise HTTPException(403, "the triage queue is for 12345 operators")
    return principal


Operator = Annotated[Principal, Depends(operator_of)]


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


# Critical first, then urgent, then normal (and anything else, should a value ever appear).
URGENCY_ORDER = case(
    (TriageItem.urgency == Urgency.critical.value, 0),
    (TriageItem.urgency == Urgency.urgent.value, 1),
    else_=2,
)


@router.get(
    "",
    response_model=list[TriageItemOut],
    summary="Demands waiting for manual triage",
    description="Critical demands first, then urgent ones, then the rest; each group oldest first.",
)
async def pending(
    runtime: RuntimeDep,
    _operator: Operator,
    state: Annotated[Literal["pending", "classified"], Query()] = "pending",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[TriageItemOut]:
    async with runtime.sessions() as session:
        items = await session.scalars(
            select(TriageItem)
            .where(TriageItem.state == state)
            .order_by(URGENCY_ORDER, TriageItem.created_at, TriageItem.demand_id)
            .limit(limit)
        )
        return [TriageItemOut.of(i) for i in items]


@router.post(
    "/{demand_id}/classify",
    response_model=TriageItemOut,
    summary="Classify a demand by hand; routing continues at once",
    responses={
        404: {"description": "no such demand in triage"},
        409: {"description": "already classified"},
        422: {"description": "unknown matter or unit"},
    },
)
async def classify_by_hand(
    demand_id: uuid.UUID, body: ManualClassification, runtime: RuntimeDep, operator: Operator
) -> TriageItemOut:
    lists = runtime.lists
    matter = lists.matters_by_code.get(body.matter_code)
    if matter is None:
        raise Unprocessable("body.matter_code", f"no matter {body.matter_code} in {lists.version}")
    if body.unit_code not in lists.units_by_code:
        raise Unprocessable("body.unit_code", f"unit {body.unit_code} is not in the registry")
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        item = await session.scalar(
            select(TriageItem).where(TriageItem.demand_id == demand_id).with_for_update()
        )
        if item is None:
            raise HTTPException(404, "no such demand in triage")
        if item.state != "pending":
            raise HTTPException(409, f"already classified by {item.decided_by}")
        demand_type = body.demand_type or (
            DemandType(item.demand_type) if item.demand_type else matter.demand_type
        )
        urgency = body.urgency or urgency_of(item.content, matter)[0]
        await publish_classified(
            session,
            runtime.outbox,
            demand_id=demand_id,
            matter=matter,
            demand_type=demand_type,
            urgency=urgency,
            unit_code=body.unit_code,
            confidence=1.0,
            rule=f"operator:{operator.sub}",
            content=item.content,
            address=item.address,
            citizen=Citizen(name=item.citizen_name, phone=item.citizen_phone),
            lists=lists,
            now=now,
        )
        item.state = "classified"
        item.decided_by = operator.sub
        item.decided_at = now
        session.add(
            LabelledExample(
                demand_id=demand_id,
                text=item.content,
                matter_code=matter.code,
                category=matter.category,
                unit_code=body.unit_code,
                decided_by=operator.sub,
                decided_at=now,
            )
        )
    runtime.outbox.notify()
    return TriageItemOut.of(item)
