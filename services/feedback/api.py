"""The citizen's evaluation of the reply (tracking token as proof)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from contracts.events import DemandEvaluated, Satisfaction
from services.feedback.handlers import AWAITING, EVALUATED
from services.feedback.models import Callback
from services.runtime.auth import tracking_token_matches
from services.runtime.http import RuntimeDep

router = APIRouter(prefix="/v1/demands", tags=["evaluation"])


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolved: bool = Field(description="is the problem solved, in the citizen's view")
    satisfaction: Satisfaction
    comment: str | None = Field(default=None, max_length=2000)


class EvaluationOut(BaseModel):
    demand_id: uuid.UUID
    state: str
    resolved: bool
    satisfaction: Satisfaction


@router.post(
    "/{demand_id}/evaluation",
    response_model=EvaluationOut,
    status_code=201,
    summary="The citizen rates the reply",
    responses={
        404: {"description": "no replied demand with this id and token"},
        409: {"description": "already evaluated"},
    },
)
async def evaluate(
    demand_id: uuid.UUID,
    body: EvaluationIn,
    runtime: RuntimeDep,
    token: Annotated[str, Query(min_length=8, max_length=64, description="the tracking token")],
) -> EvaluationOut:
    if not tracking_token_matches(
        runtime.settings.auth_secret.get_secret_value(), str(demand_id), token
    ):
        raise HTTPException(404, "no replied demand with this id and token")
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        callback = await session.scalar(
            select(Callback).where(Callback.demand_id == demand_id).with_for_update()
        )
        if callback is None:
            raise HTTPException(404, "no replied demand with this id and token")
        if callback.state != AWAITING:
            raise HTTPException(409, "this reply has already been evaluated")
        callback.state = EVALUATED
        callback.resolved = body.resolved
        callback.satisfaction = body.satisfaction.value
        callback.comment = body.comment
        callback.evaluated_at = now
        await runtime.outbox.put(
            session,
            DemandEvaluated(
                demand_id=demand_id,
                occurred_at=now,
                resolved=body.resolved,
                satisfaction=body.satisfaction,
                comment=body.comment,
            ),
        )
    runtime.outbox.notify()
    return EvaluationOut(
        demand_id=demand_id, state=EVALUATED, resolved=body.resolved, satisfaction=body.satisfaction
    )
