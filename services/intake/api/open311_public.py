"""Open311 as clients use it, beside services/intake/api/open311.py: `tokens/{token}`, the
photo link (`media_url`) a request keeps, and the spec's error format for every error under
/open311/ — an unknown path (404) and a malformed parameter (400) too, not only the ones the
endpoints raise."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.intake import repository
from services.intake.api.open311 import (
    Format,
    Open311Error,
    error_response,
    render,
)
from services.runtime.http import RuntimeDep

router = APIRouter(prefix="/open311/v2", tags=["open311"])
PREFIX = "/open311/"


def format_of_path(path: str) -> Format:
    return "xml" if path.endswith(".xml") else "json"


@router.get("/tokens/{token}.{ext}", summary="The request a token stands for")
async def request_of_token(token: str, ext: str, runtime: RuntimeDep) -> Response:
    """A request's id is known when it is posted, so the token a client may hold is that id
    (the spec's token is for servers that learn the id later): the answer names it again."""
    fmt: Format = "xml" if ext == "xml" else "json"
    if ext not in ("json", "xml"):
        raise Open311Error(404, f"unknown format {ext!r}: use .json or .xml")
    not_found = Open311Error(404, f"token {token} was not found", fmt)
    try:
        demand_id = uuid.UUID(token)
    except ValueError as exc:
        raise not_found from exc
    async with runtime.sessions() as session:
        demand = await repository.get_demand(session, demand_id, with_timeline=False)
    if demand is None:
        raise not_found
    found = {"service_request_id": str(demand.id), "token": token}
    return render(fmt, "service_requests", [found])


Handler = Callable[[Request, Exception], Awaitable[Response]]


def install_error_format(app: FastAPI) -> None:
    """Under /open311/ every HTTP error (an unknown path, a wrong method) and every malformed
    parameter answers in the spec's format; elsewhere the handlers the app had still answer."""
    http_default: Handler | None = app.exception_handlers.get(StarletteHTTPException)  # type: ignore[assignment]
    validation_default: Handler | None = app.exception_handlers.get(RequestValidationError)  # type: ignore[assignment]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith(PREFIX) or http_default is None:
            fmt = format_of_path(request.url.path)
            return error_response(exc.status_code, str(exc.detail), fmt)
        return await http_default(request, exc)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if request.url.path.startswith(PREFIX) or validation_default is None:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'][1:]) or 'request'}: {err['msg']}"
                for err in exc.errors()
            )
            return error_response(400, problems, format_of_path(request.url.path))
        return await validation_default(request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
