"""Citizens act on their demand with the tracking token: withdraw it (撤诉) or add to it (补充)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from contracts.text import Text
from services.intake import citizen_acts
from services.intake.schemas import SupplementIn, WithdrawalIn
from services.runtime.auth import tracking_token_matches
from services.runtime.http import RuntimeDep
from services.runtime.service import Runtime

router = APIRouter(prefix="/v1/demands", tags=["demands"])
NOT_FOUND = "no demand with this id and token"
TokenQuery = Annotated[Text, Query(min_length=8, max_length=64, description="the tracking token")]
_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": NOT_FOUND},
    409: {"description": "the demand was replied or closed: it can no longer change"},
}


def _check(runtime: Runtime, demand_id: uuid.UUID, token: str) -> None:
    secret = runtime.settings.auth_secret.get_secret_value()
    # A wrong token and an unknown id answer alike, so ids cannot be probed.
    if not tracking_token_matches(secret, str(demand_id), token):
        raise HTTPException(404, NOT_FOUND)


@router.post(
    "/{demand_id}/withdraw",
    summary="Withdraw the demand (撤诉): its open tasks are withdrawn, it closes as withdrawn",
    responses=_RESPONSES,
)
async def withdraw(
    demand_id: uuid.UUID, runtime: RuntimeDep, token: TokenQuery, body: WithdrawalIn | None = None
) -> dict[str, str]:
    _check(runtime, demand_id, token)
    try:
        demand = await citizen_acts.withdraw_demand(
            runtime, demand_id, reason=body.reason if body else None
        )
    except citizen_acts.NoSuchDemand as exc:
        raise HTTPException(404, NOT_FOUND) from exc
    except citizen_acts.DemandFinished as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"demand_id": str(demand.id), "status": demand.status}


@router.post(
    "/{demand_id}/supplement",
    status_code=201,
    summary="Add to the demand (补充): the text reaches the lead department's task",
    responses=_RESPONSES,
)
async def supplement(
    demand_id: uuid.UUID, body: SupplementIn, runtime: RuntimeDep, token: TokenQuery
) -> dict[str, str]:
    _check(runtime, demand_id, token)
    try:
        demand = await citizen_acts.supplement_demand(runtime, demand_id, text=body.text)
    except citizen_acts.NoSuchDemand as exc:
        raise HTTPException(404, NOT_FOUND) from exc
    except citizen_acts.DemandFinished as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"demand_id": str(demand.id), "status": demand.status}
