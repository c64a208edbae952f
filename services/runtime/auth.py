"""Staff bearer tokens: HMAC-signed claims naming a role and what it may see.

A department token carries its department id and sees only that department's tasks; a
coordinator token carries the unit of its jurisdiction. Tokens are issued by
`liandong token ...` (or the city's identity provider in front of it) with the shared secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, overload

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
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
    exp: int | None = None  # None: an API key, valid until revoked


class DepartmentPrincipal(Principal):
    """A department's credential, narrowed: it always names its department."""

    department_id: str


class CoordinatorPrincipal(Principal):
    """A coordinator's credential, narrowed: it always names the unit of its jurisdiction."""

    unit_code: UnitCode


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
    """A JWT signed with the shared secret (HS256): for `make run`, tests and small sites.
    A city's identity provider signs its own with a private key instead (see verify_token)."""
    claims = Principal(
        sub=sub,
        role=role,
        department_id=department_id,
        unit_code=unit_code,
        exp=int((now + ttl).timestamp()),
    ).model_dump(exclude_none=True)
    return jwt.encode(
        {**claims, "iat": int(now.timestamp()), "iss": ISSUER}, secret, algorithm="HS256"
    )


def tracking_token(secret: str, demand_id: str) -> str:
    """The citizen's tracking token for a demand, derived so it never needs storing."""
    digest = hmac.new(secret.encode(), f"tracking:{demand_id}".encode(), hashlib.sha256).digest()
    return _b64(digest[:18])


def tracking_token_matches(secret: str, demand_id: str, token: str) -> bool:
    # Bytes: compare_digest refuses non-ASCII str, and a token is whatever a client sent.
    return hmac.compare_digest(tracking_token(secret, demand_id).encode(), token.encode())


class InvalidToken(Exception):
    pass


def verify_token(
    token: str,
    *,
    secret: str,
    now: datetime,
    public_key: str | None = None,
    issuer: str | None = None,
) -> Principal:
    """Verify a bearer JWT: HS256 with the shared secret, or, when the city's identity provider
    is configured, RS256/ES256/EdDSA with its public key (never the key as an HMAC secret).
    Expiry is checked against the injected clock."""
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
        if algorithm == "HS256":
            key: Any = secret
        elif public_key is not None and algorithm in _ASYMMETRIC:
            key = public_key
        else:
            raise InvalidToken(f"tokens signed with {algorithm} are not accepted")
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            issuer=issuer if algorithm != "HS256" else None,
            # Time claims are checked below against the injected clock, not the system's.
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["exp", "sub"],
            },
        )
        if claims.get("nbf", 0) > now.timestamp():
            raise InvalidToken("token not yet valid")
        principal = Principal.model_validate(
            {k: v for k, v in claims.items() if k in Principal.model_fields}
        )
    except jwt.InvalidSignatureError as exc:
        raise InvalidToken("bad signature") from exc
    except (jwt.PyJWTError, ValueError, ValidationError) as exc:
        raise InvalidToken("malformed token") from exc
    if principal.exp is None or principal.exp < now.timestamp():
        raise InvalidToken("token expired")
    return principal


_ASYMMETRIC = frozenset({"RS256", "ES256", "EdDSA"})
ISSUER = "liandong"
API_KEY_HEADER = "X-API-Key"
_bearer = HTTPBearer(auto_error=False)
_api_key = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="an API key from `liandong principals add`"
)


def principal_of_api_key(request: Request, key: str) -> Principal | None:
    """The principal an API key stands for, or None for an unknown key."""
    principal: Principal | None = request.app.state.runtime.api_keys.principal_for(key)
    return principal


def principal_of_bearer(request: Request, token: str) -> Principal:
    """The principal of a bearer JWT; raises InvalidToken."""
    runtime = request.app.state.runtime
    settings = runtime.settings
    return verify_token(
        token,
        secret=settings.auth_secret.get_secret_value(),
        now=runtime.clock.now(),
        public_key=settings.jwt_public_key,
        issuer=settings.jwt_issuer,
    )


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(401, reason, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """`Authorization: Bearer <JWT>` or `X-API-Key: <key>`; one of them, not both."""
    if api_key is not None:
        if credentials is not None:
            raise _unauthorized("send a bearer token or an API key, not both")
        principal = principal_of_api_key(request, api_key)
        if principal is None:
            raise _unauthorized("unknown API key")
        return principal
    if credentials is None:
        raise _unauthorized("a bearer token or an X-API-Key is required")
    try:
        return principal_of_bearer(request, credentials.credentials)
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from exc


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


# The roles whose principal carries a field its role needs, and the narrowed type saying so.
_NARROWED: dict[Role, tuple[type[Principal], str]] = {
    Role.department: (DepartmentPrincipal, "department_id"),
    Role.coordinator: (CoordinatorPrincipal, "unit_code"),
}


def _forbidden(reason: str) -> HTTPException:
    return HTTPException(403, reason)


def _narrow(principal: Principal) -> Principal:
    """The principal as its role's narrowed type; 403 naming the field its credential lacks."""
    narrowed = _NARROWED.get(principal.role)
    if narrowed is None:
        return principal
    kind, needed = narrowed
    if getattr(principal, needed) is None:
        raise _forbidden(f"a {principal.role.value} credential must name its {needed}")
    return kind.model_validate(principal.model_dump())


@overload
def require(role: Literal[Role.department], /) -> Callable[[Principal], DepartmentPrincipal]: ...
@overload
def require(role: Literal[Role.coordinator], /) -> Callable[[Principal], CoordinatorPrincipal]: ...
@overload
def require(*roles: Role) -> Callable[[Principal], Principal]: ...
def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A FastAPI dependency admitting only principals of `roles`; a department's or a
    coordinator's comes back narrowed (see DepartmentPrincipal, CoordinatorPrincipal)."""
    if not roles:
        raise ValueError("require() needs at least one role")
    allowed = " or ".join(role.value for role in roles)

    def guard(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise _forbidden(f"this API is for {allowed} credentials, not {principal.role.value}")
        return _narrow(principal)

    guard.__name__ = f"require_{'_or_'.join(role.value for role in roles)}"
    return guard


DepartmentDep = Annotated[DepartmentPrincipal, Depends(require(Role.department))]
"""A department's credential: sees and acts on its own tasks only."""
CoordinatorDep = Annotated[CoordinatorPrincipal, Depends(require(Role.coordinator))]
"""A coordinator's credential: acts within the unit of its jurisdiction and beneath."""
OperatorDep = Annotated[Principal, Depends(require(Role.operator))]
"""A 12345 hotline operator's credential."""
ChannelDep = Annotated[Principal, Depends(require(Role.channel))]
"""A front end's credential (hotline desk, app, mini-program, web form, grid worker)."""
FrontEndDep = Annotated[Principal, Depends(require(Role.channel, Role.operator))]
"""Who may submit a demand: a front end, or a 12345 operator taking a call."""
