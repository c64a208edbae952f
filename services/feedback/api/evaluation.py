"""What the citizens' and the operators' evaluation endpoints share: the callback policy, and
taking an evaluation with its HTTP answers (the same rules for both: the first one stays)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from services.feedback.schemas import EvaluationIn, EvaluationOut
from services.feedback.service import callbacks
from services.feedback.service.callbacks import CallbackPolicy
from services.runtime.service import Runtime


def get_policy(request: Request) -> CallbackPolicy:
    policy: CallbackPolicy = request.app.state.callback_policy
    return policy


PolicyDep = Annotated[CallbackPolicy, Depends(get_policy)]


async def evaluated(
    runtime: Runtime,
    policy: CallbackPolicy,
    demand_id: uuid.UUID,
    body: EvaluationIn,
    *,
    evaluated_by: str,
    not_found: str,
) -> EvaluationOut:
    """Take the evaluation: 404 saying `not_found` without a callback, 409 when it is closed."""
    try:
        await callbacks.evaluate_reply(
            runtime,
            policy,
            demand_id,
            resolved=body.resolved,
            satisfaction=body.satisfaction,
            comment=body.comment,
            evaluated_by=evaluated_by,
        )
    except callbacks.NoCallback as exc:
        raise HTTPException(404, not_found) from exc
    except callbacks.AlreadyClosed as exc:
        raise HTTPException(409, str(exc)) from exc
    return EvaluationOut(
        demand_id=demand_id,
        state=callbacks.EVALUATED,
        resolved=body.resolved,
        satisfaction=body.satisfaction,
        evaluated_by=evaluated_by,
    )
