"""The citizen rates the reply to their demand, through the link of the callback (the tracking
token is the proof)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from contracts.text import Text
from services.feedback.api.evaluation import PolicyDep, evaluated
from services.feedback.schemas import EvaluationIn, EvaluationOut
from services.runtime.auth import tracking_token_matches
from services.runtime.http import RuntimeDep

router = APIRouter(tags=["evaluation"])

NOT_FOUND = "no replied demand with this id and token"


@router.post(
    "/v1/demands/{demand_id}/evaluation",
    response_model=EvaluationOut,
    status_code=201,
    summary="The citizen rates the reply (the link of the callback)",
    responses={
        404: {"description": "no replied demand with this id and token"},
        409: {"description": "already evaluated, or closed as not evaluated"},
    },
)
async def evaluate_by_citizen(
    demand_id: uuid.UUID,
    body: EvaluationIn,
    runtime: RuntimeDep,
    policy: PolicyDep,
    token: Annotated[Text, Query(min_length=8, max_length=64, description="the tracking token")],
) -> EvaluationOut:
    # A wrong token and an unknown demand get the same answer: existence is not disclosed.
    if not tracking_token_matches(policy.secret, str(demand_id), token):
        raise HTTPException(404, NOT_FOUND)
    return await evaluated(
        runtime, policy, demand_id, body, evaluated_by="citizen", not_found=NOT_FOUND
    )
