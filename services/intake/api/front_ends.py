"""Front ends (channels, and 12345 operators) submit demands here, idempotently."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response

from contracts.events import DemandStatus
from contracts.text import Text
from services.intake.models import Demand
from services.intake.schemas import DemandAccepted, DemandIn
from services.intake.service import IdempotencyConflict, accept_demand
from services.runtime.auth import FrontEndDep, tracking_token
from services.runtime.http import RuntimeDep, Unprocessable
from services.runtime.masking import citizens_in_hand

router = APIRouter(prefix="/v1/demands", tags=["demands"])


def _accepted(runtime: RuntimeDep, demand: Demand) -> DemandAccepted:
    token = tracking_token(runtime.settings.auth_secret.get_secret_value(), str(demand.id))
    return DemandAccepted(
        demand_id=demand.id,
        tracking_token=token,
        status=DemandStatus(demand.status),
        tracking_url=f"/v1/demands/{demand.id}?token={token}",
    )


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
    front_end: FrontEndDep,
    idempotency_key: Annotated[Text | None, Header(max_length=200)] = None,
) -> DemandAccepted:
    if body.matter_code is not None and body.matter_code not in runtime.lists.matters_by_code:
        raise Unprocessable(
            "matter_code", f"no matter {body.matter_code} in the lists {runtime.lists.version}"
        )
    try:
        with citizens_in_hand([body.citizen.name], [body.location.address]):
            demand, replayed = await accept_demand(
                runtime, body, submitted_by=front_end, idempotency_key=idempotency_key
            )
    except IdempotencyConflict as exc:
        raise HTTPException(409, str(exc)) from exc
    if replayed:
        response.status_code = 200
    return _accepted(runtime, demand)
