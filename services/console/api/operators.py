"""The operator desk (话务员): take a call (the five elements, a matter picker over the
catalogue, the place as an address or a unit code) and the triage queue, classified by hand."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from services.console.pages import CheckedForm, ConsoleDep, SignedIn, field, render, require
from services.console.schemas import CallerForm, CallForm, ClassifyForm, read_form
from services.console.service import ServiceRefused
from services.console.sessions import Session
from services.runtime.auth import Role

router = APIRouter(prefix="/operator", tags=["operators"])

UNIT_CODE = re.compile(r"^[0-9]{12}$")
SUGGESTIONS = 20
CALLER_DEMANDS = 20


async def _desk(
    request: Request,
    console: ConsoleDep,
    session: Session,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    answers: tuple[Any, Any] = await asyncio.gather(
        console.services.call("intake", "GET", "/v1/matters", headers=session.headers()),
        console.services.call(
            "classification", "GET", "/v1/triage", headers=session.headers(),
            params={"limit": 50},
        ),
        return_exceptions=True,
    )  # fmt: skip
    matters, triage = answers
    if isinstance(matters, BaseException):
        raise matters
    triage_failure = None
    if isinstance(triage, ServiceRefused):  # the call form stays usable when the queue is not
        triage_failure = triage.message
        triage = []
    elif isinstance(triage, BaseException):
        raise triage
    return render(
        request,
        "operator.html",
        {
            "matters": matters,
            "triage": triage,
            "triage_failure": triage_failure,
            # A new call's idempotency key: the same form posted twice files one demand.
            "call_id": str(uuid.uuid4()),
            "form": {},
            "errors": {},
            **context,
        },
        status_code=status_code,
        session=session,
    )


@router.get("/units")
async def unit_suggestions(
    console: ConsoleDep,
    session: SignedIn,
    q: Annotated[str, Query(min_length=1, max_length=50)],
) -> JSONResponse:
    """Registry units whose name contains, or whose code starts with, what the operator typed:
    the address box's suggestions (JSON for the page's script)."""
    require(session, Role.operator)
    units = await console.services.call(
        "intake", "GET", "/v1/units", headers=session.headers(),
        params={"q": q, "limit": SUGGESTIONS},
    )  # fmt: skip
    return JSONResponse([{"code": u["code"], "name": u["name"]} for u in units])


@router.get("")
async def desk(request: Request, console: ConsoleDep, session: SignedIn) -> Response:
    require(session, Role.operator)
    accepted = None
    demand_id, token = request.query_params.get("demand"), request.query_params.get("token")
    if demand_id and token:
        accepted = {"demand_id": demand_id, "tracking_url": f"/track/{demand_id}?token={token}"}
    classified = request.query_params.get("classified")
    return await _desk(request, console, session, accepted=accepted, classified=classified)


def _demand(call: CallForm) -> dict[str, Any]:
    place = call.place
    location = {"unit_code": place} if UNIT_CODE.match(place) else {"address": place}
    citizen = {k: v for k, v in (("name", call.name), ("phone", call.phone)) if v}
    body: dict[str, Any] = {
        "channel": "hotline",
        "content": call.content,
        "location": location,
        "citizen": citizen,
    }
    if call.demand_type:
        body["demand_type"] = call.demand_type
    if call.matter_code:
        body["matter_code"] = call.matter_code.split(" ", 1)[0]  # "CODE 名称" from the picker
    return body


@router.post("/calls")
async def take_call(
    request: Request, console: ConsoleDep, session: SignedIn, form: CheckedForm
) -> Response:
    require(session, Role.operator)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    call, errors = read_form(CallForm, form)
    if call is None:
        return await _desk(request, console, session, status_code=422, errors=errors, form=values)
    call_id = field(form, "call_id") or str(uuid.uuid4())
    headers = {**session.headers(), "Idempotency-Key": f"console-{call_id}"}
    try:
        accepted = await console.services.call(
            "intake", "POST", "/v1/demands", headers=headers, json=_demand(call)
        )
    except ServiceRefused as exc:
        fields = {_FIELD_OF.get(k, k): v for k, v in exc.fields.items()}
        return await _desk(
            request, console, session, status_code=exc.status,
            failure=exc.message, errors=fields, form=values,
        )  # fmt: skip
    return RedirectResponse(
        f"/operator?demand={accepted['demand_id']}&token={accepted['tracking_token']}",
        status_code=303,
    )


@router.post("/caller")
async def look_up_caller(
    request: Request, console: ConsoleDep, session: SignedIn, form: CheckedForm
) -> Response:
    """The caller's earlier demands, by the phone number on the line. Posted, not asked in the
    address, so the number stays out of URLs, browser history and access logs."""
    require(session, Role.operator)
    lookup, errors = read_form(CallerForm, form)
    typed = field(form, "caller_phone")
    if lookup is None:
        return await _desk(
            request, console, session, status_code=422, errors=errors, caller={"phone": typed}
        )
    try:
        demands = await console.services.call(
            "intake", "POST", "/v1/callers/demands", headers=session.headers(),
            json={"phone": lookup.caller_phone, "limit": CALLER_DEMANDS},
        )  # fmt: skip
    except ServiceRefused as exc:
        errors = {"caller_phone": exc.fields.get("phone") or exc.message}
        return await _desk(
            request, console, session, status_code=exc.status, errors=errors,
            caller={"phone": typed},
        )  # fmt: skip
    return await _desk(request, console, session, caller={"phone": typed, "demands": demands})


# Intake names the fields of its JSON body; the form's fields are named otherwise.
_FIELD_OF = {
    "matter_code": "matter_code",
    "location": "place",
    "location.address": "place",
    "location.unit_code": "place",
    "citizen.phone": "phone",
    "citizen.name": "name",
}


@router.post("/triage/{demand_id}/classify")
async def classify(
    request: Request,
    console: ConsoleDep,
    session: SignedIn,
    demand_id: uuid.UUID,
    form: CheckedForm,
) -> Response:
    require(session, Role.operator)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    decision, errors = read_form(ClassifyForm, form)
    if decision is None:
        return await _desk(
            request, console, session, status_code=422,
            triage_errors={str(demand_id): errors}, triage_form={str(demand_id): values},
        )  # fmt: skip
    body = {
        "matter_code": decision.matter_code.split(" ", 1)[0],
        "unit_code": decision.unit_code,
    }
    try:
        await console.services.call(
            "classification",
            "POST",
            f"/v1/triage/{demand_id}/classify",
            headers=session.headers(),
            json=body,
        )
    except ServiceRefused as exc:
        return await _desk(
            request, console, session, status_code=exc.status,
            triage_errors={str(demand_id): {**exc.fields, "form": exc.message}},
            triage_form={str(demand_id): values},
        )  # fmt: skip
    return RedirectResponse(f"/operator?classified={demand_id}", status_code=303)
