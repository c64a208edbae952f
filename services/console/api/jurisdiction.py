"""The coordinator's view of its jurisdiction: every open task with filters by matter,
department, stage and lateness, a page at a time; and the live escalation feed that the desk
polls (the desk shows the same list on load, so it works without script)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.console.api.departments import current_due
from services.console.pages import ConsoleDep, SignedIn, render, require
from services.runtime.auth import Role

router = APIRouter(prefix="/coordinator", tags=["coordinators"])

PAGE = 50
FEED = 20  # the newest escalations the live feed shows


def _filters(
    matter: str | None, department: str | None, state: str | None, late: str | None
) -> dict[str, Any]:
    """The query routing is asked, from the form's fields (empty ones left out)."""
    params: dict[str, Any] = {}
    if matter:
        params["matter"] = matter
    if department:
        params["department"] = department
    if state:
        params["state"] = state
    if late == "yes":
        params["late"] = "true"
    return params


@router.get("/tasks")
async def open_tasks(
    request: Request,
    console: ConsoleDep,
    session: SignedIn,
    matter: Annotated[str | None, Query(max_length=40)] = None,
    department: Annotated[str | None, Query(max_length=100)] = None,
    state: Annotated[Literal["", "assigned", "signed", "contacted"] | None, Query()] = None,
    late: Annotated[Literal["", "yes"] | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    require(session, Role.coordinator)
    params = _filters(matter, department, state, late)
    headers = session.headers()
    found = await console.services.call(
        "routing",
        "GET",
        "/v1/jurisdiction/tasks",
        headers=headers,
        params={**params, "limit": PAGE, "offset": offset},
    )
    matters = await console.services.call("intake", "GET", "/v1/matters", headers=headers)
    departments = await console.services.call(
        "intake", "GET", "/v1/departments", headers=headers,
        params={"unit": session.principal.unit_code},
    )  # fmt: skip
    query = {k: v for k, v in params.items() if k != "late"}
    if late == "yes":
        query["late"] = "yes"
    return render(
        request,
        "coordinator_tasks.html",
        {
            "page": found,
            "filters": {"matter": matter or "", "department": department or "",
                        "state": state or "", "late": late or ""},
            "query": query,
            "matters": matters,
            "departments": departments,
            "previous": max(offset - PAGE, 0) if offset else None,
            "next": offset + PAGE if offset + PAGE < found["total"] else None,
            "current_due": current_due,
        },
        session=session,
    )  # fmt: skip


@router.get("/feed")
async def escalation_feed(request: Request, console: ConsoleDep, session: SignedIn) -> Response:
    """The newest open escalations as an HTML fragment, for the desk's polling script."""
    require(session, Role.coordinator)
    escalations = await console.services.call(
        "routing", "GET", "/v1/escalations", headers=session.headers(),
        params={"state": "open", "limit": FEED},
    )  # fmt: skip
    return render(request, "_escalation_feed.html", {"feed": escalations}, session=session)
