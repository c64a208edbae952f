"""Staff bearer tokens: HMAC-signed claims naming a role and what it may see.

A department token carries its department id and sees only that department's tasks; a
coordinator token carries the unit of its jurisdiction. Tokens are issued by
`liandong token ...` (or the city's identity provider in front of it) with the shared secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, ValidationError

from contracts.jurisdiction import UnitCode


class Role(StrEnum):
    channel = "channel"  # a front end: hotline desk, app, mini-program, web form, grid worker
    department = "department"
    coordinator = "coordinator"
    operator = "operator"  # hotline operator of the 12345 centre


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sub: str
    role: Role
    department_id: str | None = None
    unit_code: UnitCode | None = None
    exp: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(
    secret: str,
    *,
    sub: str,
    role: Role,
    now: datetime,
    department_id: str | None = None,
    unit_code: str | None = None,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    claims = Principal(
        sub=sub,
        role=role,
        department_id=department_id,
        unit_code=unit_code,
        exp=int((now + ttl).timestamp()),
    )
    payload = _b64(claims.model_dump_json(exclude_none=True).encode())
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(signature)}"


def tracking_token(secret: str, demand_id: str) -> str:
    """The citizen's tracking token for a demand, derived so it never needs storing."""
    digest = hmac.new(secret.encode(), f"tracking:{demand_id}".encode(), hashlib.sha256).digest()
    return _b64(digest[:18])


def tracking_token_matches(secret: str, demand_id: str, token: str) -> bool:
    # Bytes: compare_digest refuses non-ASCII str, and a token is whatever a client sent.
    return hmac.compare_digest(tracking_token(secret, demand_id).encode(), token.encode())


class InvalidToken(Exception):
    pass


def verify_token(secret: str, token: str, *, now: datetime) -> Principal:
    try:
        payload, signature = token.split(".")
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise InvalidToken("bad signature")
        principal = Principal.model_validate(json.loads(_unb64(payload)))
    except (ValueError, ValidationError) as exc:
        raise InvalidToken("malformed token") from exc
    if principal.exp < now.timestamp():
        raise InvalidToken("token expired")
    return principal


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise HTTPException(
            401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    runtime = request.app.state.runtime
    try:
        return verify_token(
            runtime.settings.auth_secret.get_secret_value(),
            credentials.credentials,
            now=runtime.clock.now(),
        )
    except InvalidToken as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
