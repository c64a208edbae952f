"""The coordinator desk (街道/区/市协调员): escalations beneath the unit, disputes to rule and
extension requests to decide, within the coordinator's jurisdiction (routing enforces it)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.console.api.jurisdiction import FEED
from services.console.pages import CheckedForm, ConsoleDep, SignedIn, render, require
from services.console.schemas import (
    CoordinateForm,
    DecisionForm,
    RulingForm,
    read_form,
    refused,
)
from services.console.service import ServiceRefused
from services.console.sessions import Session
from services.runtime.auth import Role

router = APIRouter(prefix="/coordinator", tags=["coordinators"])


async def _desk(
    request: Request,
    console: ConsoleDep,
    session: Session,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    headers = session.headers()
    # The four lists at once (the departments at the coordinator's own unit feed the pickers).
    escalations, disputes, extensions, departments = await asyncio.gather(
        console.services.call(
            "routing", "GET", "/v1/escalations", headers=headers, params={"state": "open"}
        ),
        console.services.call("routing", "GET", "/v1/disputes", headers=headers),
        console.services.call("routing", "GET", "/v1/extensions", headers=headers),
        console.services.call(
            "intake", "GET", "/v1/departments", headers=headers,
            params={"unit": session.principal.unit_code},
        ),
    )  # fmt: skip
    return render(
        request,
        "coordinator.html",
        {
            "escalations": escalations,
            "feed": escalations[:FEED],
            "disputes": disputes,
            "extensions": extensions,
            "departments": departments,
            "errors": {},
            **context,
        },
        status_code=status_code,
        session=session,
    )


@router.get("")
async def desk(request: Request, console: ConsoleDep, session: SignedIn) -> Response:
    require(session, Role.coordinator)
    done = {
        "ruled": "已裁定，工单已派出",
        "decided": "已处理延期申请",
        "reassign": "已改派",
        "co-handlers": "已加派协办单位",
        "summons": "已吹哨，等待报到",
    }.get(request.query_params.get("done") or "")
    return await _desk(request, console, session, done=done)


async def _post(
    request: Request,
    console: ConsoleDep,
    session: Session,
    path: str,
    body: dict[str, Any],
    *,
    key: str,
    done: str,
) -> Response:
    try:
        await console.services.call("routing", "POST", path, headers=session.headers(), json=body)
    except ServiceRefused as exc:
        return await _desk(
            request, console, session, status_code=exc.status, failure=exc.message,
            errors={key: {**exc.fields, "form": exc.message}},
        )  # fmt: skip
    return RedirectResponse(f"/coordinator?done={done}", status_code=303)


def _cites(typed: str) -> dict[str, Any]:
    """The legal basis a decision cites (依法): the one typed in, else the matter's own from the
    lists (routing records which)."""
    typed = typed.strip()
    return {"legal_basis": typed} if typed else {"legal_basis_from_lists": True}


@router.post("/disputes/{dispute_id}/ruling")
async def rule(
    request: Request,
    console: ConsoleDep,
    session: SignedIn,
    dispute_id: uuid.UUID,
    form: CheckedForm,
) -> Response:
    require(session, Role.coordinator)
    ruling, errors = read_form(RulingForm, form)
    if ruling is None:
        return await _desk(
            request, console, session, status_code=422, failure=refused(errors),
            errors={str(dispute_id): errors},
        )  # fmt: skip
    return await _post(
        request, console, session, f"/v1/disputes/{dispute_id}/ruling",
        {"lead_department_id": ruling.lead_department_id, **_cites(ruling.legal_basis)},
        key=str(dispute_id), done="ruled",
    )  # fmt: skip


@router.post("/extensions/{extension_id}/decision")
async def decide(
    request: Request,
    console: ConsoleDep,
    session: SignedIn,
    extension_id: uuid.UUID,
    form: CheckedForm,
) -> Response:
    require(session, Role.coordinator)
    decision, errors = read_form(DecisionForm, form)
    if decision is None:
        return await _desk(
            request, console, session, status_code=422, failure=refused(errors),
            errors={str(extension_id): errors},
        )  # fmt: skip
    body = {
        "approve": decision.approve == "yes",
        "note": decision.note or None,
        **_cites(decision.legal_basis),
    }
    return await _post(
        request, console, session, f"/v1/extensions/{extension_id}/decision", body,
        key=str(extension_id), done="decided",
    )  # fmt: skip


@router.post("/tasks/{task_id}/coordinate")
async def coordinate(
    request: Request,
    console: ConsoleDep,
    session: SignedIn,
    task_id: uuid.UUID,
    form: CheckedForm,
) -> Response:
    """Reassign, add a co-handler or summon, from an escalation's row."""
    require(session, Role.coordinator)
    act, errors = read_form(CoordinateForm, form)
    if act is None:
        return await _desk(
            request,
            console,
            session,
            status_code=422,
            failure=refused(errors),
            errors={str(task_id): errors},
        )
    body: dict[str, Any]
    if act.act == "summons":
        ids = [d.strip() for d in act.department_id.replace("，", ",").split(",") if d.strip()]
        body = {"department_ids": ids, "note": act.reason}
    else:
        body = {"department_id": act.department_id, "reason": act.reason}
        body |= _cites(act.legal_basis)
    return await _post(
        request, console, session, f"/v1/tasks/{task_id}/{act.act}", body,
        key=str(task_id), done=act.act,
    )  # fmt: skip
