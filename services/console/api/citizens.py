"""The citizen's page (H5, phone first): the tracking link from the SMS shows the status, the
department, the expected reply time and the public timeline, and after the reply the
evaluation form, which works without JavaScript. No sign-in: the tracking token is the key."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.console.pages import CheckedForm, ConsoleDep, field, render
from services.console.schemas import EvaluationForm, read_form
from services.console.service import ServiceRefused

router = APIRouter(tags=["citizens"])

Token = Annotated[str, Query(min_length=8, max_length=64)]


async def _page(
    request: Request,
    console: ConsoleDep,
    demand_id: uuid.UUID,
    token: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    try:
        demand = await console.services.track(demand_id, token)
    except ServiceRefused as exc:
        message = (
            "未找到该诉求：请核对短信中的链接是否完整" if exc.status in (404, 422) else exc.message
        )
        return render(
            request,
            "message.html",
            {"title": "查询诉求", "message": message, "phone_first": True},
            status_code=404 if exc.status in (404, 422) else exc.status,
        )
    return render(
        request,
        "citizen.html",
        {"demand": demand, "token": token, "form": {}, "errors": {}, **context},
        status_code=status_code,
    )


@router.get("/track/{demand_id}")
async def track(
    request: Request, console: ConsoleDep, demand_id: uuid.UUID, token: Token
) -> Response:
    evaluated = request.query_params.get("evaluated") == "1"
    return await _page(request, console, demand_id, token, evaluated=evaluated)


@router.post("/track/{demand_id}/evaluation")
async def evaluate(
    request: Request, console: ConsoleDep, demand_id: uuid.UUID, form: CheckedForm
) -> Response:
    token = field(form, "token")
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    evaluation, errors = read_form(EvaluationForm, form)
    if evaluation is None:
        return await _page(
            request, console, demand_id, token, status_code=422, errors=errors, form=values
        )
    try:
        await console.services.evaluate(
            demand_id,
            token,
            {
                "resolved": evaluation.resolved == "yes",
                "satisfaction": evaluation.satisfaction.value,
                "comment": evaluation.comment or None,
            },
        )
    except ServiceRefused as exc:
        message = "该诉求已评价，或评价期限已过" if exc.status == 409 else exc.message
        return await _page(
            request, console, demand_id, token, status_code=exc.status, failure=message, form=values
        )
    # Post/redirect/get: a reload does not post the evaluation again.
    return RedirectResponse(f"/track/{demand_id}?token={token}&evaluated=1", status_code=303)
