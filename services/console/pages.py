"""What every page shares: the console's parts on app.state, rendering with the CSRF token,
the signed-in user (or a redirect to sign-in), form checks, and the Chinese labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.responses import Response

from services.console.service import Services
from services.console.sessions import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    CredentialChecker,
    Session,
    SessionCodec,
    new_nonce,
)
from services.console.settings import ConsoleSettings
from services.runtime.auth import Role
from services.runtime.clock import Clock, SystemClock

TEMPLATES = Path(__file__).resolve().parent / "templates"
ZONE = ZoneInfo("Asia/Shanghai")  # the city's; every time on a page is local


@dataclass
class Console:
    """The console's parts, built once at start (app.state.console)."""

    settings: ConsoleSettings
    services: Services
    codec: SessionCodec
    checker: CredentialChecker
    clock: Clock
    templates: Jinja2Templates


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(console_of)]


class NotSignedIn(Exception):
    """No session, or it expired: the user goes to sign-in and comes back to `next`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(Exception):
    """The page is not for this user (a 403 page, saying why)."""


class CsrfRefused(Exception):
    """A form came without its CSRF token, or with another browser's."""


def current_session(request: Request, console: ConsoleDep) -> Session:
    session = console.codec.decode(request.cookies.get(SESSION_COOKIE), now=console.clock.now())
    if session is None:
        raise NotSignedIn(return_path(request))
    return session


def return_path(request: Request) -> str:
    """Where to come back after signing in: the page asked for; after a form, the home page
    (a form's address is an action, not a page, and its fields are not kept)."""
    if request.method != "GET":
        return "/"
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


SignedIn = Annotated[Session, Depends(current_session)]


def require(session: Session, *roles: Role) -> Session:
    if session.role not in roles:
        names = "、".join(ROLE_NAMES[r] for r in roles)
        raise Forbidden(f"此页面仅供{names}使用，您以{ROLE_NAMES[session.role]}身份登录")
    return session


def sign_in_url(next_path: str) -> str:
    return "/sign-in?next=" + quote(next_path, safe="")


def safe_next(next_path: str | None) -> str:
    """Only a path of this site: `next` must never send a signed-in user elsewhere."""
    if next_path and next_path.startswith("/") and not next_path.startswith(("//", "/\\")):
        return next_path
    return "/"


async def checked_form(request: Request, console: ConsoleDep) -> FormData:
    """The posted form, once its CSRF token matched this browser's; raises CsrfRefused."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not console.codec.csrf_matches(
        request.cookies.get(CSRF_COOKIE), token if isinstance(token, str) else None
    ):
        raise CsrfRefused
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    session: Session | None = None,
) -> Response:
    """A page with the CSRF token of this browser in every form (its cookie set if new)."""
    console = console_of(request)
    nonce = request.cookies.get(CSRF_COOKIE)
    new = not nonce
    if not nonce:
        nonce = new_nonce()
    if session is None:
        session = console.codec.decode(request.cookies.get(SESSION_COOKIE), now=console.clock.now())
    response = console.templates.TemplateResponse(
        request,
        template,
        {
            "csrf_field": CSRF_FIELD,
            "csrf_token": console.codec.csrf_token(nonce),
            "session": session,
            "role_names": ROLE_NAMES,
            "demo": console.settings.demo,
            "now": console.clock.now(),
            **(context or {}),
        },
        status_code=status_code,
    )
    if new:
        set_cookie(response, console.settings, CSRF_COOKIE, nonce, max_age=None)
    response.headers["Cache-Control"] = "no-store"
    return response


def set_cookie(
    response: Response, settings: ConsoleSettings, name: str, value: str, *, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/",
    )


# --- Chinese labels and time, used by the templates ---

ROLE_NAMES = {
    Role.operator: "话务员",
    Role.department: "承办单位",
    Role.coordinator: "协调员",
    Role.channel: "渠道",
}
TASK_STATES = {
    "assigned": "待签收",
    "signed": "已签收",
    "contacted": "已先行联系",
    "replied": "已办结",
    "closed": "已关闭",
    "returned": "已退单",
    "superseded": "已撤回",
}
TASK_ROLES = {"lead": "主办", "co_handler": "协办"}
URGENCIES = {"normal": "一般", "urgent": "紧急", "critical": "特急"}
DEMAND_TYPES = {
    "consult": "咨询",
    "help": "求助",
    "complaint": "投诉",
    "report": "举报",
    "suggestion": "建议",
}
REPLY_RESULTS = {
    "resolved": "已解决",
    "explained": "已解释说明",
    "not_resolvable": "暂不具备解决条件",
}
RETURN_REASONS = {
    "not_our_duty": "非本单位职责",
    "wrong_location": "属地不符",
    "duplicate": "重复工单",
    "insufficient_information": "信息不全无法办理",
    "other": "其他",
}
SATISFACTIONS = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
}
ACTIONS = {
    "assign": "派单",
    "sign": "签收",
    "contact": "先行联系",
    "reply": "办结",
    "return": "退单",
    "close": "关闭",
    "supersede": "撤回",
    "redo": "重办",
    "request-extension": "申请延期",
    "arrival": "报到",
}
STAGES = {
    "sign": "签收",
    "first_contact": "先行联系",
    "reply": "办结",
    "summons": "吹哨报到",
    "redo": "重办",
}


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def local_time(value: str | datetime | None) -> str:
    moment = parse_time(value)
    if moment is None:
        return "—"
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")


def time_left(
    due: str | datetime | None, now: datetime, *, warn_hours: float = 4
) -> dict[str, str]:
    """How long until a deadline, in calendar time, and its colour: late (red), near (amber:
    within `warn_hours`), ok. The deadline itself is the services' working-day clock."""
    moment = parse_time(due)
    if moment is None:
        return {"text": "—", "css": "none"}
    seconds = (moment - now.astimezone(UTC)).total_seconds()
    span = _span(abs(seconds))
    if seconds < 0:
        return {"text": f"已超时 {span}", "css": "late"}
    return {"text": f"剩余 {span}", "css": "near" if seconds < warn_hours * 3600 else "ok"}


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} 小时 {minutes} 分"
    days, hours = divmod(hours, 24)
    return f"{days} 天 {hours} 小时"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def install_filters(templates: Jinja2Templates) -> None:
    env = templates.env
    env.filters["local_time"] = local_time
    env.filters["percent"] = percent
    env.globals.update(
        time_left=time_left,
        TASK_STATES=TASK_STATES,
        TASK_ROLES=TASK_ROLES,
        URGENCIES=URGENCIES,
        DEMAND_TYPES=DEMAND_TYPES,
        REPLY_RESULTS=REPLY_RESULTS,
        RETURN_REASONS=RETURN_REASONS,
        SATISFACTIONS=SATISFACTIONS,
        STAGES=STAGES,
        ACTIONS=ACTIONS,
    )


def default_clock() -> Clock:
    return SystemClock()
