"""Citizens follow their demand with the tracking token: status, department and timeline."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from contracts.events import Channel, DemandStatus
from contracts.text import Text
from services.intake import repository
from services.intake.models import TimelineEntry
from services.intake.schemas import STATUS_TEXT, DemandView, TimelineItem
from services.runtime.auth import tracking_token_matches
from services.runtime.http import RuntimeDep

router = APIRouter(prefix="/v1/demands", tags=["demands"])


@router.get(
    "/{demand_id}",
    response_model=DemandView,
    summary="Follow a demand: status, handling department and timeline",
    responses={404: {"description": "no such demand, or the token does not match"}},
)
async def track_demand(
    demand_id: uuid.UUID,
    runtime: RuntimeDep,
    token: Annotated[Text, Query(min_length=8, max_length=64, description="the tracking token")],
) -> DemandView:
    secret = runtime.settings.auth_secret.get_secret_value()
    # A wrong token and an unknown id answer alike, so ids cannot be probed.
    if not tracking_token_matches(secret, str(demand_id), token):
        raise HTTPException(404, "no demand with this id and token")
    async with runtime.sessions() as session:
        demand = await repository.get_demand(session, demand_id, with_timeline=True)
    if demand is None:
        raise HTTPException(404, "no demand with this id and token")
    status = DemandStatus(demand.status)
    return DemandView(
        demand_id=demand.id,
        status=status,
        status_text=STATUS_TEXT[status],
        channel=Channel(demand.channel),
        content=demand.content,
        department_name=demand.department_name,
        expected_reply_at=demand.expected_reply_at,
        received_at=demand.received_at,
        updated_at=demand.updated_at,
        timeline=[_timeline_item(e) for e in demand.timeline],
    )


def _timeline_item(entry: TimelineEntry) -> TimelineItem:
    """A step as the citizen reads it: a received or assigned step the services sent without a
    note gets a short standard one, so no step is left unexplained."""
    status = DemandStatus(entry.status)
    note = entry.note
    if not note and status is DemandStatus.received:
        note = "您的诉求已受理，正在确定承办部门。"
    elif not note and status is DemandStatus.assigned:
        note = f"您的诉求已派至{entry.department_name or '承办部门'}办理。"
    return TimelineItem(
        status=status,
        status_text=STATUS_TEXT[status],
        department_name=entry.department_name,
        note=note,
        occurred_at=entry.occurred_at,
    )
