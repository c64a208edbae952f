"""Abuse limits every HTTP process shares: rate limits on the public endpoints, CORS, header
count, JSON nesting depth, slow request bodies, and the uvicorn limits below the application.

The rate limit is a token bucket per client address and per credential, kept in the memory of
one process: with N replicas behind a load balancer a client gets up to N times the limit
(docs/abuse-limits.md says so and how to hold it at the ingress instead).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from services.runtime.settings import HttpLimitSettings

# The endpoints anyone on the internet reaches without a staff credential: citizens' tracking
# and evaluation (a token from an SMS), Open311 reads (a channel's key, often shipped inside an
# app), and the console's citizen page and sign-in form. One table for every service: their
# paths do not overlap, so each process limits the ones it serves.
PUBLIC_ENDPOINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("GET", re.compile(r"^/v1/demands/[^/]+$")),  # intake: tracking
    ("POST", re.compile(r"^/v1/demands/[^/]+/evaluation$")),  # feedback: the citizen rates
    ("GET", re.compile(r"^/open311/")),  # intake: Open311 reads
    ("GET", re.compile(r"^/track/")),  # console: the citizen's page
    ("POST", re.compile(r"^/track/")),
    ("POST", re.compile(r"^/sign-in")),  # console: guessing credentials
)
_CREDENTIAL_PARAMETERS = ("token", "api_key")
_CREDENTIAL_HEADERS = (b"authorization", b"x-api-key")


def is_public(method: str, path: str) -> bool:
    return any(method == m and pattern.match(path) for m, pattern in PUBLIC_ENDPOINTS)


class TokenBuckets:
    """One bucket of `capacity` requests per key, refilled at capacity per minute. At most
    `max_keys` buckets are kept; the least recently used goes first (it is the likeliest to be
    full again anyway)."""

    def __init__(
        self,
        per_minute: int,
        *,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate_per_s = per_minute / 60.0
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when the request may pass (one token taken), else the seconds until it may."""
        now = self.clock()
        tokens, since = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - since) * self.rate_per_s)
        if tokens >= 1:
            self._remember(key, tokens - 1, now)
            return 0.0
        self._remember(key, tokens, now)
        return (1 - tokens) / self.rate_per_s

    def _remember(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)


def credential_of(scope: Scope) -> str | None:
    """A digest of the credential a request carries (a tracking token, an API key, a bearer
    token), so the buckets never hold one in clear."""
    found = [v for k, v in scope["headers"] if k in _CREDENTIAL_HEADERS]
    query = scope.get("query_string", b"").decode("latin-1")
    found += [v.encode() for k, v in parse_qsl(query) if k in _CREDENTIAL_PARAMETERS]
    if not found:
        return None
    return hashlib.sha256(b"\0".join(sorted(found))).hexdigest()[:32]


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether a JSON text nests arrays and objects deeper than `limit`; brackets inside
    strings do not count. A linear scan, so a hostile body costs no parser recursion."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _problem(status: int, field: str, reason: str, headers: dict[str, str] | None = None) -> Any:
    detail = {
        408: "the request body came too slowly",
        422: "request validation failed",
        429: "too many requests",
        431: "request headers too large",
    }[status]
    return JSONResponse(
        {"detail": detail, "errors": [{"field": field, "reason": reason}]},
        status_code=status,
        headers=headers,
    )


class _SlowBody(Exception):
    pass


@dataclass(frozen=True)
class Limits:
    max_headers: int
    max_header_bytes: int
    max_json_depth: int
    body_timeout_s: float


class AbuseGuard:
    """Header count (431), the rate limit of the public endpoints (429 with Retry-After), a
    body that trickles in (408) and JSON nested too deep (422). Inside the body size limit,
    which bounds what this reads."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Limits,
        per_address: TokenBuckets | None,
        per_credential: TokenBuckets | None,
        exempt_addresses: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.limits = limits
        self.per_address = per_address
        self.per_credential = per_credential
        self.exempt_addresses = exempt_addresses

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        reason = self._headers_refused(scope)
        if reason:
            await _problem(431, "headers", reason)(scope, receive, send)
            return
        wait = self._rate_limited(scope)
        if wait:
            retry = str(max(1, math.ceil(wait)))
            reason = f"rate limit of this endpoint reached; retry after {retry} s"
            await _problem(429, "rate", reason, {"Retry-After": retry})(scope, receive, send)
            return
        try:
            body = await self._read_body(receive)
        except _SlowBody:
            reason = f"not received within {self.limits.body_timeout_s:g} s"
            await _problem(408, "body", reason, {"Connection": "close"})(scope, receive, send)
            return
        if _is_json(scope) and json_depth_exceeds(body, self.limits.max_json_depth):
            reason = f"JSON nested deeper than {self.limits.max_json_depth} levels"
            await _problem(422, "body", reason)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _headers_refused(self, scope: Scope) -> str | None:
        # uvicorn (h11) bounds only headers still arriving; a whole request read at once
        # passes it, so the total is checked here too.
        headers = scope["headers"]
        if len(headers) > self.limits.max_headers:
            return f"more than {self.limits.max_headers} headers"
        size = sum(len(name) + len(value) for name, value in headers)
        if size > self.limits.max_header_bytes:
            return f"headers larger than {self.limits.max_header_bytes} bytes"
        return None

    def _rate_limited(self, scope: Scope) -> float:
        if not is_public(scope["method"], scope["path"]):
            return 0.0
        waits = [0.0]
        client = scope.get("client")
        address = client[0] if client else "unknown"
        if self.per_address is not None and address not in self.exempt_addresses:
            waits.append(self.per_address.take(address))
        credential = credential_of(scope)
        if self.per_credential is not None and credential is not None:
            waits.append(self.per_credential.take(credential))
        return max(waits)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        try:
            async with asyncio.timeout(self.limits.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        break
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
        except TimeoutError as exc:
            raise _SlowBody from exc
        return b"".join(chunks)


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return b"json" in value.lower()
    return False


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, whenever it comes

    return replay


def origins(settings: HttpLimitSettings) -> list[str]:
    return [o.strip() for o in settings.cors_allow_origins.split(",") if o.strip()]


def exempt(settings: HttpLimitSettings) -> frozenset[str]:
    return frozenset(a.strip() for a in settings.rate_limit_exempt.split(",") if a.strip())


def install_limits(app: FastAPI, settings: HttpLimitSettings) -> None:
    """Add the guard and, when origins are configured, CORS. Call before the body size limit
    is added, so that limit wraps the guard and bounds the body it reads."""
    app.add_middleware(
        AbuseGuard,
        limits=Limits(
            max_headers=settings.max_headers,
            max_header_bytes=settings.max_header_bytes,
            max_json_depth=settings.max_json_depth,
            body_timeout_s=settings.body_timeout_s,
        ),
        per_address=_buckets(settings.rate_limit_per_address),
        per_credential=_buckets(settings.rate_limit_per_credential),
        exempt_addresses=exempt(settings),
    )
    allowed = origins(settings)
    if allowed:  # off by default: the pages and the APIs are not meant to be read cross-site
        app.add_middleware(
            CORSMiddleware,
            allow_origins=allowed,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "If-Match"],
            expose_headers=["Retry-After", "ETag", "Location"],
            max_age=600,
        )


def _buckets(per_minute: int) -> TokenBuckets | None:
    return TokenBuckets(per_minute) if per_minute > 0 else None


class _HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol with a deadline on request headers: uvicorn times only the idle
    gap between kept-alive requests, so a client that opens a connection and sends its headers
    a byte at a time (slowloris) would hold it for ever. The body has AbuseGuard's timeout."""

    header_timeout_s = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._headers_in():
            self._disarm()
        elif self._deadline is None:  # the first bytes of the next kept-alive request
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _headers_in(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.header_timeout_s, self._cut_off)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _cut_off(self) -> None:
        self._deadline = None
        if not self._headers_in():
            self.transport.close()


def header_deadline_protocol(seconds: float) -> type[H11Protocol]:
    return type("HeaderDeadline", (_HeaderDeadline,), {"header_timeout_s": seconds})


def uvicorn_limits(settings: HttpLimitSettings) -> dict[str, Any]:
    """What uvicorn itself enforces below the application, as `uvicorn.Config` arguments."""
    return {
        "http": header_deadline_protocol(settings.header_timeout_s),
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "limit_concurrency": settings.max_connections or None,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "proxy_headers": True,
    }


__all__: Sequence[str] = (
    "PUBLIC_ENDPOINTS",
    "AbuseGuard",
    "TokenBuckets",
    "install_limits",
    "is_public",
    "json_depth_exceeds",
    "uvicorn_limits",
)
