"""Intake's HTTP API: submit a demand (idempotent), follow it with the tracking token."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response
from sqlalchemy.exc import IntegrityError

from contracts.events import Channel, Citizen, DemandReceived, DemandStatus, Location
from contracts.text import Text
from services.intake import repository
from services.intake.models import Demand, TimelineEntry
from services.intake.schemas import (
    STATUS_TEXT,
    DemandAccepted,
    DemandIn,
    DemandView,
    TimelineItem,
)
from services.runtime.auth import (
    CurrentPrincipal,
    Principal,
    Role,
    tracking_token,
    tracking_token_matches,
)
from services.runtime.http import RuntimeDep, Unprocessable
from services.runtime.service import Runtime

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/demands", tags=["demands"])


def front_end_of(principal: CurrentPrincipal) -> Principal:
    """Demands come from a front end's credential (or a 12345 operator's), never anonymously."""
    if principal.role not in (Role.channel, Role.operator):
        raise HTTPException(403, "demands are submitted with a channel or operator credential")
    return principal


FrontEnd = Annotated[Principal, Depends(front_end_of)]


def _accepted(runtime: RuntimeDep, demand: Demand) -> DemandAccepted:
    token = tracking_token(runtime.settings.auth_secret.get_secret_value(), str(demand.id))
    return DemandAccepted(
        demand_id=demand.id,
        tracking_token=token,
        status=DemandStatus(demand.status),
        tracking_url=f"/v1/demands/{demand.id}?token={token}",
    )


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used with a different request."""


async def accept_demand(
    runtime: Runtime,
    body: DemandIn,
    *,
    submitted_by: Principal,
    idempotency_key: str | None,
    service_code: str | None = None,
) -> tuple[Demand, bool]:
    """Store the demand and its `demand.received` event in one transaction: the one way in for
    /v1/demands and Open311. Returns the demand and whether it replays an earlier request with
    the same Idempotency-Key from the same submitter (another submitter's key is not theirs to
    replay); raises IdempotencyConflict if that request was different."""
    fingerprint = body.model_dump_json() + (f"|service:{service_code}" if service_code else "")
    chosen = service_code or body.matter_code  # Open311's service, or the front end's pick
    request_sha256 = hashlib.sha256(fingerprint.encode()).hexdigest()
    if idempotency_key is not None:
        async with runtime.sessions() as session:
            earlier = await repository.get_demand_by_idempotency_key(
                session, submitted_by.sub, idempotency_key
            )
        if earlier is not None:
            return _replay(earlier, request_sha256), True

    now = runtime.clock.now()
    demand = Demand(
        id=uuid.uuid4(),
        channel=body.channel.value,
        content=body.content,
        demand_type=body.demand_type.value if body.demand_type else None,
        unit_code=body.location.unit_code,
        address=body.location.address,
        lat=body.location.lat,
        lon=body.location.lon,
        citizen_name=body.citizen.name,
        citizen_phone=body.citizen.phone,
        idempotency_key=idempotency_key,
        request_sha256=request_sha256,
        status=DemandStatus.received.value,
        department_name=None,
        received_at=now,
        updated_at=now,
        submitted_by=submitted_by.sub,
        service_code=chosen,
        expected_reply_at=None,
    )
    event = DemandReceived(
        demand_id=demand.id,
        occurred_at=now,
        channel=body.channel,
        content=body.content,
        demand_type=body.demand_type,
        location=Location(**body.location.model_dump()),
        citizen=Citizen(**body.citizen.model_dump()),
        matter_code=chosen,
    )
    try:
        async with runtime.sessions() as session, session.begin():
            await repository.add_demand(session, demand)
            await runtime.outbox.put(session, event)
    except IntegrityError:
        # Two requests with one key raced; the other one won.
        if idempotency_key is None:
            raise
        async with runtime.sessions() as session:
            earlier = await repository.get_demand_by_idempotency_key(
                session, submitted_by.sub, idempotency_key
            )
        if earlier is None:
            raise
        return _replay(earlier, request_sha256), True
    runtime.outbox.notify()
    log.info("demand received", demand_id=str(demand.id), channel=demand.channel)
    return demand, False


def _replay(earlier: Demand, request_sha256: str) -> Demand:
    if earlier.request_sha256 != request_sha256:
        raise IdempotencyConflict("this Idempotency-Key was already used with a different body")
    return earlier


@router.post(
    "",
    status_code=201,
    response_model=DemandAccepted,
    summary="Submit a demand",
    responses={
        200: {"description": "replay of an earlier request with the same Idempotency-Key"},
        401: {"description": "no credential"},
        403: {"description": "not a channel or operator credential"},
        409: {"description": "the Idempotency-Key was used with a different body"},
        413: {"description": "body too large"},
        422: {"description": "invalid fields, each named with its reason"},
    },
)
async def submit_demand(
    body: DemandIn,
    runtime: RuntimeDep,
    response: Response,
    front_end: FrontEnd,
    idempotency_key: Annotated[Text | None, Header(max_length=200)] = None,
) -> DemandAccepted:
    if body.matter_code is not None and body.matter_code not in runtime.lists.matters_by_code:
        raise Unprocessable(
            "matter_code", f"no matter {body.matter_code} in the lists {runtime.lists.version}"
        )
    try:
        demand, replayed = await accept_demand(
            runtime, body, submitted_by=front_end, idempotency_key=idempotency_key
        )
    except IdempotencyConflict as exc:
        raise HTTPException(409, str(exc)) from exc
    if replayed:
        response.status_code = 200
    return _accepted(runtime, demand)


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
