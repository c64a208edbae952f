"""The department workbench (承办单位): its tasks with the time left on each stage, and a task
page with the demand, the citizen's contact where the data list allows, the timeline and the
actions sign, first contact, reply, return and request an extension."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from services.console.pages import (
    CheckedForm,
    ConsoleDep,
    Forbidden,
    SignedIn,
    field,
    render,
    require,
)
from services.console.schemas import ExtensionForm, ReplyForm, ReturnForm, read_form
from services.console.service import ServiceRefused
from services.console.sessions import Session
from services.runtime.auth import Role

router = APIRouter(prefix="/department", tags=["departments"])

PAGE = 50


def current_due(task: dict[str, Any]) -> str | None:
    """The deadline of the stage the task is in: sign, then first contact (lead), then reply."""
    state = task.get("state")
    if state == "assigned":
        due: str | None = task.get("sign_due_at")
        return due
    if state == "signed" and task.get("role") == "lead":
        return task.get("first_contact_due_at") or task.get("reply_due_at")
    if state in ("signed", "contacted"):
        return task.get("reply_due_at")
    return None


@router.get("")
async def workbench(
    request: Request,
    console: ConsoleDep,
    session: SignedIn,
    state: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=50)] = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    require(session, Role.department)
    # What is still to do unless a state is asked for, the nearest deadline first, a page at a
    # time: routing filters, sorts and searches, so a department with ten thousand tasks reads
    # one page of them (one more than shown says whether a next page exists).
    params: dict[str, Any] = {"limit": PAGE + 1, "offset": offset}
    if state:
        params["state"] = state
    else:
        params["open"] = "true"
    if q:
        params["q"] = q
    found = await console.services.call(
        "routing", "GET", "/v1/tasks", headers=session.headers(), params=params
    )
    query = {k: v for k, v in (("state", state), ("q", q)) if v}
    return render(
        request,
        "department_tasks.html",
        {
            "tasks": found[:PAGE],
            "state": state or "",
            "q": q or "",
            "current_due": current_due,
            "query": query,
            "offset": offset,
            "previous": max(offset - PAGE, 0) if offset else None,
            "next": offset + PAGE if len(found) > PAGE else None,
        },
        session=session,
    )


async def _task_page(
    request: Request,
    console: ConsoleDep,
    session: Session,
    task_id: uuid.UUID,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    try:
        task = await console.services.call(
            "routing", "GET", f"/v1/tasks/{task_id}", headers=session.headers()
        )
    except ServiceRefused as exc:
        if exc.status in (403, 404):
            # Routing answers another department's task as not found, so its existence is not
            # disclosed; the page says the same for both, as a refusal.
            raise Forbidden("无权查看此工单：它不属于本单位，或不存在") from exc
        raise
    timeline: list[dict[str, Any]] = []
    if task.get("demand_id"):
        try:
            timeline = await console.services.call(
                "routing",
                "GET",
                f"/v1/demands/{task['demand_id']}/timeline",
                headers=session.headers(),
            )
        except ServiceRefused:
            timeline = []  # a task the department no longer holds shows without its history
    return render(
        request,
        "department_task.html",
        {
            "task": task,
            "timeline": timeline,
            "due": current_due(task),
            "errors": {},
            "form": {},
            **context,
        },
        status_code=status_code,
        session=session,
    )


@router.get("/tasks/{task_id}")
async def task_page(
    request: Request, console: ConsoleDep, session: SignedIn, task_id: uuid.UUID
) -> Response:
    require(session, Role.department)
    done = DONE.get(request.query_params.get("done") or "")
    return await _task_page(request, console, session, task_id, done=done)


_FORMS: dict[str, type[BaseModel] | None] = {
    "sign": None,
    "contact": None,
    "reply": ReplyForm,
    "return": ReturnForm,
    "request-extension": ExtensionForm,
}
DONE = {
    "sign": "已签收",
    "contact": "已记录先行联系",
    "reply": "已办结答复，等待市民评价",
    "return": "已退单",
    "request-extension": "延期申请已提交，等待协调员审批",
}


def _body(action: str, parsed: BaseModel | None) -> dict[str, Any] | None:
    if parsed is None:
        return None
    if isinstance(parsed, ExtensionForm):
        return {"requested": f"{parsed.amount} {parsed.unit}", "reason": parsed.reason}
    return parsed.model_dump(mode="json")


@router.post("/tasks/{task_id}/{action}")
async def act(
    request: Request,
    console: ConsoleDep,
    session: SignedIn,
    task_id: uuid.UUID,
    action: str,
    form: CheckedForm,
) -> Response:
    require(session, Role.department)
    if action not in _FORMS:
        raise Forbidden("未知的操作")
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    model = _FORMS[action]
    parsed: BaseModel | None = None
    if model is not None:
        parsed, errors = read_form(model, form)
        if parsed is None:
            return await _task_page(
                request, console, session, task_id, status_code=422,
                errors={action: errors}, form=values, open_form=action,
            )  # fmt: skip
    headers = session.headers()
    version = field(form, "version")
    if version.isdigit():  # another clerk's change meanwhile answers 409 instead of being undone
        headers["If-Match"] = version
    try:
        await console.services.call(
            "routing",
            "POST",
            f"/v1/tasks/{task_id}/{action}",
            headers=headers,
            json=_body(action, parsed),
        )
    except ServiceRefused as exc:
        if exc.status in (403, 404):
            raise Forbidden("无权处理此工单：它不属于本单位，或不存在") from exc
        return await _task_page(
            request, console, session, task_id, status_code=exc.status,
            failure=exc.message, errors={action: exc.fields}, form=values, open_form=action,
        )  # fmt: skip
    return RedirectResponse(f"/department/tasks/{task_id}?done={action}", status_code=303)
