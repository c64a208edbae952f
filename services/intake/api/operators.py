"""The 12345 operator's lookup of a caller: the earlier demands of the phone number on the line
(operators only; the phone travels in the body and is never logged)."""

from __future__ import annotations

from fastapi import APIRouter

from contracts.events import Channel, DemandStatus
from services.intake import repository
from services.intake.callers import phone_key
from services.intake.schemas import STATUS_TEXT, CallerDemand, CallerLookup
from services.runtime.auth import OperatorDep
from services.runtime.http import RuntimeDep, Unprocessable

router = APIRouter(prefix="/v1/callers", tags=["operators"])


@router.post(
    "/demands",
    response_model=list[CallerDemand],
    summary="A caller's earlier demands, by phone number, newest first (operators)",
    responses={403: {"description": "the credential is not an operator's"}},
)
async def demands_of_caller(
    body: CallerLookup, runtime: RuntimeDep, _operator: OperatorDep
) -> list[CallerDemand]:
    key = phone_key(body.phone)
    if key is None:
        raise Unprocessable("body.phone", "has no digits")
    async with runtime.sessions() as session:
        found = await repository.demands_of_caller(session, key, limit=body.limit)
    return [
        CallerDemand(
            demand_id=d.id,
            status=DemandStatus(d.status),
            status_text=STATUS_TEXT[DemandStatus(d.status)],
            channel=Channel(d.channel),
            content=d.content,
            unit_code=d.unit_code,
            address=d.address,
            department_name=d.department_name,
            received_at=d.received_at,
            expected_reply_at=d.expected_reply_at,
        )
        for d in found
    ]
