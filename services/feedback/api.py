"""The evaluation of a reply: by the citizen (tracking token as proof) or by a hotline operator
who phoned the citizen (operator credential). Same rules for both: the first evaluation stays."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from contracts.events import Satisfaction
from contracts.text import Text
from services.feedback import callbacks
from services.feedback.callbacks import CallbackPolicy
from services.feedback.models import Callback, DemandFact
from services.runtime.auth import CurrentPrincipal, Principal, Role, tracking_token_matches
from services.runtime.http import RuntimeDep

router = APIRouter(tags=["evaluation"])

NOT_FOUND = "no replied demand with this id and token"


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolved: bool = Field(description="is the problem solved, in the citizen's view")
    satisfaction: Satisfaction
    comment: Text | None = Field(default=None, max_length=2000)


class EvaluationOut(BaseModel):
    demand_id: uuid.UUID
    state: str
    resolved: bool
    satisfaction: Satisfaction
    evaluated_by: str


def get_policy(request: Request) -> CallbackPolicy:
    policy: CallbackPolicy = request.app.state.callback_policy
    return policy


PolicyDep = Annotated[CallbackPolicy, Depends(get_policy)]


def operator_of(principal: CurrentPrincipal) -> Principal:
    if principal.role is not Role.operator:
        raise HTTPException(403, "this API is for hotline operator credentials")
    return principal


Operator = Annotated[Principal, Depends(operator_of)]


async def _evaluate(
    runtime: RuntimeDep,
    policy: CallbackPolicy,
    demand_id: uuid.UUID,
    body: EvaluationIn,
    *,
    evaluated_by: str,
    not_found: str,
) -> EvaluationOut:
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        callback = await callbacks.lock_callback(session, demand_id)
        if callback is None:
            raise HTTPException(404, not_found)
        try:
            await callbacks.evaluate(
                session, runtime.outbox, policy, callback,
                resolved=body.resolved, satisfaction=body.satisfaction, comment=body.comment,
                evaluated_by=evaluated_by, now=now,
            )  # fmt: skip
        except callbacks.AlreadyClosed as exc:
            raise HTTPException(409, str(exc)) from exc
    runtime.outbox.notify()
    return EvaluationOut(
        demand_id=demand_id,
        state=callbacks.EVALUATED,
        resolved=body.resolved,
        satisfaction=body.satisfaction,
        evaluated_by=evaluated_by,
    )


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
    return await _evaluate(
        runtime, policy, demand_id, body, evaluated_by="citizen", not_found=NOT_FOUND
    )


@router.post(
    "/v1/callbacks/{demand_id}/evaluation",
    response_model=EvaluationOut,
    status_code=201,
    summary="A hotline operator records the evaluation the citizen gave on the phone",
    responses={
        403: {"description": "not an operator credential"},
        404: {"description": "no callback for this demand (not replied yet)"},
        409: {"description": "already evaluated, or closed as not evaluated"},
    },
)
async def evaluate_by_operator(
    demand_id: uuid.UUID,
    body: EvaluationIn,
    runtime: RuntimeDep,
    policy: PolicyDep,
    operator: Operator,
) -> EvaluationOut:
    return await _evaluate(
        runtime,
        policy,
        demand_id,
        body,
        evaluated_by=f"operator:{operator.sub}",
        not_found="no callback for this demand: it has not been replied",
    )


class CallbackView(BaseModel):
    """What the operator needs to phone the citizen about a reply."""

    demand_id: uuid.UUID
    department_name: str | None
    reply_text: str | None
    replied_at: datetime
    evaluate_by: datetime
    reply_round: int
    citizen_phone: str | None = Field(description="personal data: for the callback only")


@router.get(
    "/v1/callbacks",
    response_model=list[CallbackView],
    summary="Replies awaiting the citizen's evaluation, the nearest window end first",
    responses={403: {"description": "not an operator credential"}},
)
async def awaiting_callbacks(
    runtime: RuntimeDep,
    operator: Operator,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[CallbackView]:
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(Callback, DemandFact.citizen_phone)
            .outerjoin(DemandFact, DemandFact.demand_id == Callback.demand_id)
            .where(Callback.state == callbacks.AWAITING)
            .order_by(Callback.evaluate_by)
            .limit(limit)
        )
        return [
            CallbackView(
                demand_id=callback.demand_id,
                department_name=callback.department_name,
                reply_text=callback.reply_text,
                replied_at=callback.replied_at,
                evaluate_by=callback.evaluate_by,
                reply_round=callback.reply_round,
                citizen_phone=phone,
            )
            for callback, phone in rows
        ]
