"""Console entrypoint: `liandong serve console` (port 8080)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from services.console.api import (
    citizens,
    coordinators,
    departments,
    jurisdiction,
    leaders,
    operators,
    sign_in,
)
from services.console.pages import (
    TEMPLATES,
    Console,
    CsrfRefused,
    Forbidden,
    NotSignedIn,
    install_filters,
    render,
    return_path,
    sign_in_url,
)
from services.console.service import CALL_TIMES, ServiceRefused, Services
from services.console.sessions import SESSION_COOKIE, CredentialChecker, SessionCodec
from services.console.settings import ConsoleSettings
from services.runtime.api_keys import ApiKeys
from services.runtime.clock import Clock, SystemClock
from services.runtime.http import BodySizeLimit
from services.runtime.limits import install_limits
from services.runtime.metrics import HttpMetrics, HttpMetricsMiddleware

SETTINGS_CLASS = ConsoleSettings
STATIC = Path(__file__).resolve().parent / "static"
log = structlog.get_logger(__name__)

# Pages load nothing from elsewhere and run no inline script; no other site may frame them.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # a tracking link's token never leaves in a Referer
}


def create_app(
    settings: ConsoleSettings | None = None,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    settings = settings or ConsoleSettings()
    templates = Jinja2Templates(directory=str(TEMPLATES))
    install_filters(templates)
    secret = settings.auth_secret.get_secret_value()
    console = Console(
        settings=settings,
        services=Services(settings, transport=transport),
        codec=SessionCodec.from_secret(secret),
        checker=CredentialChecker(
            secret=secret,
            api_keys=ApiKeys(settings.api_keys_file),
            public_key=settings.jwt_public_key,
            issuer=settings.jwt_issuer,
        ),
        clock=clock or SystemClock(),
        templates=templates,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info("console ready", port=settings.port, demo=settings.demo)
        yield
        await console.services.close()

    app = FastAPI(
        title="Liandong console",
        description="Pages for operators, departments, coordinators, leaders and citizens.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.console = console
    for module in (sign_in, citizens, operators, departments, coordinators, jurisdiction, leaders):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    registry = CollectorRegistry()

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health/live", include_in_schema=False)
    @app.get("/health/ready", include_in_schema=False)
    async def health() -> JSONResponse:
        # Ready as soon as it serves: a service that is down is shown as a message on the pages
        # that need it, not by taking every page away.
        return JSONResponse({"status": "ok"})

    _answer_refusals(app)
    install_limits(app, settings)  # inside the body limit, which bounds what it reads
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # outermost, as in the other services: a 413 and a 500 are counted too
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(registry))
    return app


def _answer_refusals(app: FastAPI) -> None:
    """Sign-in redirects, 403 pages, CSRF refusals and the services' 4xx as pages; the
    security headers on every answer."""

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotSignedIn)
        response = RedirectResponse(sign_in_url(exc.next_path), status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Exception) -> Response:
        return render(
            request, "message.html", {"title": "无权访问", "message": str(exc)}, status_code=403
        )

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: Exception) -> Response:
        message = "表单缺少安全校验令牌或令牌不符（可能已在其他页面重新登录），请返回刷新页面后重试"
        return render(
            request, "message.html", {"title": "表单已失效", "message": message}, status_code=403
        )

    @app.exception_handler(ServiceRefused)
    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceRefused)
        if exc.status == 401:  # the token expired meanwhile: sign in again, then come back
            return await not_signed_in(request, NotSignedIn(return_path(request)))
        return render(
            request,
            "message.html",
            {"title": "操作未完成", "message": exc.message},
            status_code=exc.status if 400 <= exc.status < 600 else 502,
        )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        calls: list[tuple[str, float]] = []
        CALL_TIMES.set(calls)
        response = await call_next(request)
        # The page's server time (services' calls and rendering included) and the time spent
        # waiting on each service (summed over its calls, which may overlap), read by
        # `make bench-console` and by a browser's developer tools.
        elapsed_ms = (time.perf_counter() - started) * 1000
        waited: dict[str, float] = {}
        for service, ms in calls:
            waited[service] = waited.get(service, 0.0) + ms
        response.headers["Server-Timing"] = ", ".join(
            [f"total;dur={elapsed_ms:.1f}", *(f"{k};dur={v:.1f}" for k, v in waited.items())]
        )
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
