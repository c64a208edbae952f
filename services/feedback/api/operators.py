"""Hotline operators (12345) phone citizens about replies: the callbacks awaiting an
evaluation, and the evaluation the citizen gave on the phone."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.feedback.api.evaluation import PolicyDep, evaluated
from services.feedback.repository import callbacks as repository
from services.feedback.schemas import CallbackView, EvaluationIn, EvaluationOut
from services.feedback.service import callbacks
from services.runtime.auth import OperatorDep
from services.runtime.http import RuntimeDep

router = APIRouter(tags=["evaluation"])


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
    operator: OperatorDep,
) -> EvaluationOut:
    return await evaluated(
        runtime,
        policy,
        demand_id,
        body,
        evaluated_by=f"operator:{operator.sub}",
        not_found="no callback for this demand: it has not been replied",
    )


@router.get(
    "/v1/callbacks",
    response_model=list[CallbackView],
    summary="Replies awaiting the citizen's evaluation, the nearest window end first",
    responses={403: {"description": "not an operator credential"}},
)
async def awaiting_callbacks(
    runtime: RuntimeDep,
    operator: OperatorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[CallbackView]:
    async with runtime.sessions() as session:
        rows = await repository.callbacks_with_phone(session, callbacks.AWAITING, limit=limit)
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
