"""Sign-in (a token or an API key; one-click demo users in demo mode), sign-out, and the home
page that sends each role to its desk."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.console.pages import (
    CheckedForm,
    ConsoleDep,
    field,
    render,
    safe_next,
    set_cookie,
    sign_in_url,
)
from services.console.schemas import DEMO_USERS
from services.console.sessions import SESSION_COOKIE, CredentialRefused, Session
from services.runtime.auth import Principal, Role, issue_token

router = APIRouter(tags=["sign-in"])

HOME = {
    Role.operator: "/operator",
    Role.department: "/department",
    Role.coordinator: "/coordinator",
}


@router.get("/", include_in_schema=False)
async def home(request: Request, console: ConsoleDep) -> Response:
    session = console.codec.decode(request.cookies.get(SESSION_COOKIE), now=console.clock.now())
    if session is None:
        return RedirectResponse(sign_in_url("/"), status_code=303)
    return RedirectResponse(HOME.get(session.role, "/sign-in"), status_code=303)


@router.get("/sign-in")
async def sign_in_page(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    return render(request, "sign_in.html", {"next": safe_next(next), "demo_users": DEMO_USERS})


def _signed_in(
    console: ConsoleDep, principal: Principal, credential: str, *, api_key: bool, next_path: str
) -> Response:
    now = console.clock.now()
    ends = int((now + timedelta(hours=console.settings.session_hours)).timestamp())
    if principal.exp is not None:
        ends = min(ends, principal.exp)
    session = Session(credential=credential, api_key=api_key, principal=principal, expires_at=ends)
    target = next_path if next_path != "/" else HOME.get(principal.role, "/")
    response = RedirectResponse(target, status_code=303)
    set_cookie(
        response,
        console.settings,
        SESSION_COOKIE,
        console.codec.encode(session),
        max_age=max(ends - int(now.timestamp()), 1),
    )
    return response


@router.post("/sign-in")
async def sign_in(request: Request, console: ConsoleDep, form: CheckedForm) -> Response:
    credential = field(form, "credential")
    next_path = safe_next(field(form, "next"))
    try:
        principal, api_key = console.checker.principal(credential, now=console.clock.now())
    except CredentialRefused as exc:
        return render(
            request,
            "sign_in.html",
            {"next": next_path, "demo_users": DEMO_USERS, "errors": {"credential": str(exc)}},
            status_code=422,
        )
    return _signed_in(console, principal, credential, api_key=api_key, next_path=next_path)


@router.post("/sign-in/demo")
async def sign_in_demo(request: Request, console: ConsoleDep, form: CheckedForm) -> Response:
    """One click signs in as a demo user (`make run` only): the console mints its token."""
    user = DEMO_USERS.get(field(form, "user"))
    if not console.settings.demo or user is None:
        return render(
            request,
            "message.html",
            {"title": "无法登录", "message": "演示用户仅在演示模式（make run）下可用"},
            status_code=403,
        )
    token = issue_token(
        console.settings.auth_secret.get_secret_value(),
        sub=f"{user.role.value}:{user.subject}",
        role=user.role,
        now=console.clock.now(),
        department_id=user.subject if user.role is Role.department else None,
        unit_code=user.subject if user.role is Role.coordinator else None,
    )
    principal, _ = console.checker.principal(token, now=console.clock.now())
    return _signed_in(
        console, principal, token, api_key=False, next_path=safe_next(field(form, "next"))
    )


@router.post("/sign-out")
async def sign_out(_form: CheckedForm) -> Response:
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
