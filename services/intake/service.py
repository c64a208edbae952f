"""Intake's use case: accept a demand, the one way in for /v1/demands and Open311."""

from __future__ import annotations

import hashlib
import uuid

import structlog
from sqlalchemy.exc import IntegrityError

from contracts.events import Citizen, DemandReceived, DemandStatus, Location
from services.intake import repository
from services.intake.callers import phone_key
from services.intake.models import Demand
from services.intake.schemas import DemandIn
from services.runtime.auth import Principal
from services.runtime.service import Runtime

log = structlog.get_logger(__name__)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used with a different request."""


async def accept_demand(
    runtime: Runtime,
    body: DemandIn,
    *,
    submitted_by: Principal,
    idempotency_key: str | None,
    service_code: str | None = None,
    media_url: str | None = None,
) -> tuple[Demand, bool]:
    """Store the demand and its `demand.received` event in one transaction: the one way in for
    /v1/demands and Open311. Returns the demand and whether it replays an earlier request with
    the same Idempotency-Key from the same submitter (another submitter's key is not theirs to
    replay); raises IdempotencyConflict if that request was different."""
    fingerprint = body.model_dump_json() + (f"|service:{service_code}" if service_code else "")
    fingerprint += f"|media:{media_url}" if media_url else ""
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
        citizen_phone_key=phone_key(body.citizen.phone),
        idempotency_key=idempotency_key,
        request_sha256=request_sha256,
        status=DemandStatus.received.value,
        department_name=None,
        received_at=now,
        updated_at=now,
        submitted_by=submitted_by.sub,
        service_code=chosen,
        media_url=media_url,
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
