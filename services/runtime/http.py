"""The HTTP shell every service shares: lifespan, health, body limit, errors, request log."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime import tracing
from services.runtime.kafka import is_outage
from services.runtime.limits import install_limits
from services.runtime.metrics import HttpMetrics, HttpMetricsMiddleware
from services.runtime.openapi import describe_request_problems
from services.runtime.service import Runtime

log = structlog.get_logger(__name__)


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """413 for a body over the limit, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._announced_too_large(scope):
            await self._reject(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._reject(send)

    def _announced_too_large(self, scope: Scope) -> bool:
        return any(
            name == b"content-length" and value.isdigit() and int(value) > self.max_bytes
            for name, value in scope["headers"]
        )

    async def _reject(self, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"request body is larger than {self.max_bytes} bytes"}, status_code=413
        )
        await response({"type": "http"}, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


class Unprocessable(Exception):
    """A request that is well-formed but names something that does not exist or may not be
    used; answered 422 in the same shape as a validation error."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


async def _unprocessable(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unprocessable)
    errors = [{"field": exc.field, "reason": exc.reason}]
    return JSONResponse({"detail": "request cannot be applied", "errors": errors}, status_code=422)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in err["loc"]), "reason": err["msg"]}
        for err in exc.errors()
    ]
    return JSONResponse({"detail": "request validation failed", "errors": errors}, status_code=422)


RETRY_AFTER_S = 5
# The exceptions an outage of the database (or of the network under it) surfaces as; each is
# checked with is_outage, so a constraint violation or a bug still answers 500.
OUTAGE_EXCEPTIONS: tuple[type[Exception], ...] = (DBAPIError, PoolTimeoutError, OSError)
# OSErrors that are this machine's files, not the network: a bug or a deployment error (500).
_LOCAL_FILE_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


async def _outage(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After: the request was fine, the database was not; try again."""
    if not is_outage(exc) or isinstance(exc, _LOCAL_FILE_ERRORS):
        raise exc  # not ours: the server error middleware answers 500 and logs it
    state = _sqlstate(exc)
    if state in ("40001", "40P01"):  # a serialization failure or a deadlock: contention
        log.warning(
            "request collided with another",
            method=request.method,
            path=request.url.path,
            sqlstate=state,
        )
        return JSONResponse(
            {"detail": "the request collided with another one on the same data; retry"},
            status_code=503,
            headers={"Retry-After": "1"},
        )
    # A warning without a traceback: the readiness check and its alert tell the story.
    log.warning(
        "database unavailable",
        method=request.method,
        path=request.url.path,
        error=type(exc).__name__,
        sqlstate=state,
    )
    return JSONResponse(
        {"detail": "the service's database is unavailable; retry later"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _sqlstate(exc: Exception) -> str | None:
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(state) if state else None


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

health = APIRouter(tags=["health"])


@health.get("/health/live", summary="The process and its background loops are running")
async def live(runtime: RuntimeDep) -> JSONResponse:
    # A dead consumer or relay loop fails liveness, so the orchestrator restarts the process.
    if runtime.alive():
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "a background loop has stopped"}, status_code=503)


@health.get("/health/ready", summary="Database, outbox relay and consumers are working")
async def ready(runtime: RuntimeDep) -> JSONResponse:
    checks = await runtime.readiness()
    ok = all(checks.values())
    # Reports tell operators about the data (e.g. tasks stuck without a timer); they do not
    # take the process out of service.
    reports = {name: report() for name, report in runtime.reports.items()}
    return JSONResponse(
        {"status": "ready" if ok else "not ready", "checks": checks, "reports": reports},
        200 if ok else 503,
    )


@health.get(
    "/metrics",
    summary="Prometheus metrics of this process",
    response_class=PlainTextResponse,
)
async def metrics(runtime: RuntimeDep) -> PlainTextResponse:
    return PlainTextResponse(generate_latest(runtime.metrics), media_type=CONTENT_TYPE_LATEST)


def create_service_app(
    runtime: Runtime, *, title: str, description: str, routers: Sequence[APIRouter] = ()
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime
    describe_request_problems(app)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Unprocessable, _unprocessable)
    for outage in OUTAGE_EXCEPTIONS:
        app.add_exception_handler(outage, _outage)
    app.include_router(health)
    for router in routers:
        app.include_router(router)

    @app.middleware("http")
    async def request_log(request: Request, call_next: Any) -> Any:
        # Path only: query strings can carry tracking tokens.
        started = time.perf_counter()
        response = await call_next(request)
        if not request.url.path.startswith("/health"):
            log.info(
                "http request",
                method=request.method,
                path=request.url.path,
                status=response.status_code,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
        return response

    install_limits(app, runtime.settings)  # inside the body limit, which bounds what it reads
    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.max_body_bytes)
    tracing.instrument_app(app)
    # Added last, so outermost: it sees the body limit's 413 and the answer to an exception.
    # FastAPI's documentation routes do not put their route in the scope: labelled by path.
    docs = (app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(
        HttpMetricsMiddleware,
        metrics=HttpMetrics(runtime.metrics),
        fixed_paths=frozenset(path for path in docs if path),
    )
    return app
