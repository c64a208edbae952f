"""The abuse limits every HTTP process installs (services/runtime/limits.py): token buckets,
429 with Retry-After, 431, 413, 408, JSON depth, CORS off unless configured, and uvicorn's own
limits on a real socket."""

import asyncio
import base64
import inspect
import socket
import threading
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from services.console.app import create_app as create_console
from services.console.settings import ConsoleSettings
from services.runtime.auth import tracking_token, tracking_token_matches
from services.runtime.http import BodySizeLimit
from services.runtime.limits import (
    TokenBuckets,
    credential_of,
    install_limits,
    is_public,
    json_depth_exceeds,
    uvicorn_limits,
)
from services.runtime.settings import HttpLimitSettings


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_lets_its_capacity_through_then_says_how_long_to_wait():
    clock = FakeClock()
    buckets = TokenBuckets(60, clock=clock)  # one a second
    assert [buckets.take("a") for _ in range(60)] == [0.0] * 60
    assert buckets.take("a") == pytest.approx(1.0)
    assert buckets.take("b") == 0.0  # another key has its own bucket
    clock.now = 1.0
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0


def test_buckets_keep_at_most_their_bound_of_keys():
    buckets = TokenBuckets(1, max_keys=3, clock=FakeClock())
    for key in "abcd":
        buckets.take(key)
    assert buckets.take("a") == 0.0  # the oldest was forgotten, so it starts full
    assert buckets.take("d") > 0


def test_json_depth_counts_brackets_outside_strings_only():
    assert not json_depth_exceeds(b'{"a": [1, {"b": 2}]}', 3)
    assert json_depth_exceeds(b'{"a": [1, {"b": [2]}]}', 3)
    assert not json_depth_exceeds(b'{"a": "[[[[[[[[\\"[[[["}', 2)
    assert json_depth_exceeds(b"[" * 100_000, 32)


def test_public_endpoints_are_the_citizens_and_open311_reads():
    assert is_public("GET", "/v1/demands/0f5b")
    assert is_public("POST", "/v1/demands/0f5b/evaluation")
    assert is_public("GET", "/open311/v2/requests.json")
    assert is_public("POST", "/sign-in")
    assert is_public("GET", "/track/0f5b")
    assert not is_public("POST", "/v1/demands")  # a front end's credential: staff
    assert not is_public("GET", "/v1/tasks")


def test_a_credential_is_kept_as_a_digest():
    scope = {"headers": [(b"x-api-key", b"secret-key")], "query_string": b"token=abcdefgh"}
    digest = credential_of(scope)
    assert digest is not None
    assert "secret" not in digest
    assert "abcdefgh" not in digest
    assert credential_of({"headers": [], "query_string": b""}) is None


def _app(**settings: object) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/demands/{demand_id}")
    async def track(demand_id: str) -> dict[str, str]:
        return {"demand_id": demand_id}

    @app.post("/v1/demands")
    async def submit(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    install_limits(app, HttpLimitSettings(**settings))  # type: ignore[arg-type]
    app.add_middleware(BodySizeLimit, max_bytes=1000)
    return app


def _client(app: FastAPI, address: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://liandong")


NESTED = ("[" * 40 + "]" * 40).encode()
CASES = [
    # (what, settings, method, path, headers, body, status, the reason names)
    ("body over the limit", {}, "POST", "/v1/demands", {}, b"x" * 1001, 413, "larger than"),
    (
        "too many headers",
        {"max_headers": 10},
        "GET",
        "/v1/demands/a?token=abcdefgh",
        {f"x-h{i}": "1" for i in range(12)},
        b"",
        431,
        "more than 10 headers",
    ),
    (
        "JSON nested too deep",
        {},
        "POST",
        "/v1/demands",
        {"content-type": "application/json"},
        NESTED,
        422,
        "nested deeper than 32",
    ),
    ("the same depth as text", {}, "POST", "/v1/demands", {}, NESTED, 200, "bytes"),
    ("a staff endpoint", {"rate_limit_per_address": 1}, "POST", "/v1/demands", {}, b"{}", 200, ""),
]


@pytest.mark.parametrize(
    ("settings", "method", "path", "headers", "body", "status", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_limits_answer_as_the_table_says(
    settings, method, path, headers, body, status, reason
):
    async with _client(_app(**settings)) as client:
        for _ in range(2):  # a second time: a limit of one would show on it
            response = await client.request(method, path, headers=headers, content=body)
    assert response.status_code == status, response.text
    assert reason in response.text


async def test_a_client_address_over_its_limit_gets_429_with_retry_after():
    app = _app(rate_limit_per_address=3, rate_limit_per_credential=0)
    async with _client(app) as client, _client(app, "198.51.100.9") as other:
        answers = [
            (await client.get(f"/v1/demands/a?token=token-{i:04}")).status_code for i in range(4)
        ]
        assert answers == [200, 200, 200, 429]
        refused = await client.get("/v1/demands/a?token=token-9999")
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["errors"][0]["field"] == "rate"
        assert (await other.get("/v1/demands/a?token=token-0000")).status_code == 200


async def test_a_credential_over_its_limit_gets_429_from_any_address():
    app = _app(rate_limit_per_address=0, rate_limit_per_credential=2)
    answers = []
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        async with _client(app, address) as client:
            answers.append((await client.get("/v1/demands/a?token=same-token")).status_code)
    assert answers == [200, 200, 429]


async def test_exempt_addresses_are_limited_per_credential_only():
    app = _app(rate_limit_per_address=1, rate_limit_per_credential=2, rate_limit_exempt="10.0.0.5")
    async with _client(app, "10.0.0.5") as console:
        answers = [(await console.get("/v1/demands/a?token=tok-a")).status_code for _ in range(3)]
        other = (await console.get("/v1/demands/a?token=tok-b")).status_code
    assert answers == [200, 200, 429]
    assert other == 200


async def test_cors_is_off_by_default_and_answers_only_configured_origins():
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    async with _client(_app()) as client:
        closed = await client.options("/v1/demands/a", headers=preflight)
        plain = await client.get("/v1/demands/a", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in closed.headers
    assert "access-control-allow-origin" not in plain.headers
    app = _app(cors_allow_origins="https://12345.huzhou.example, https://app.huzhou.example")
    async with _client(app) as client:
        allowed = await client.options(
            "/v1/demands/a",
            headers={**preflight, "Origin": "https://app.huzhou.example"},
        )
        refused = await client.options("/v1/demands/a", headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == "https://app.huzhou.example"
    assert "access-control-allow-origin" not in refused.headers


async def test_a_body_that_trickles_in_is_cut_off_with_408():
    app = _app(body_timeout_s=0.2)
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        if not sent:
            sent.append({})
            return {"type": "http.request", "body": b"{", "more_body": True}
        await asyncio.sleep(3600)  # the rest never comes
        raise AssertionError

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/v1/demands",
        "raw_path": b"/v1/demands",
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("203.0.113.7", 1),
        "server": ("liandong", 80),
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=30)
    start = next(m for m in sent if m.get("type") == "http.response.start")
    assert start["status"] == 408


@pytest.fixture
def served():
    """A small app behind uvicorn with the limits the services run with, on a real socket."""
    limits = {"keep_alive_timeout_s": 1, "max_header_bytes": 2048, "header_timeout_s": 1}
    settings = HttpLimitSettings(**limits)  # type: ignore[arg-type]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        _app(**limits), host="127.0.0.1", port=port, log_config=None, **uvicorn_limits(settings)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def _exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(request)
        received = b""
        while chunk := conn.recv(65536):  # until uvicorn closes the connection
            received += chunk
    return received


def test_uvicorn_refuses_headers_that_keep_coming(served):
    # Headers that never end (a slow client's, or a hostile one's) pass the size uvicorn holds
    # while waiting for the rest: it answers and closes instead of buffering on.
    answer = _exchange(served, b"GET /v1/demands/a HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096)
    assert answer.startswith(b"HTTP/1.1 400")


def test_headers_over_their_size_read_at_once_get_431(served):
    big = b"GET /v1/demands/a HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n\r\n"
    answer = _exchange(served, big + b"")
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]


def test_uvicorn_closes_an_idle_keep_alive_connection(served):
    # One request on a kept-alive connection, then silence: uvicorn closes it (recv returns
    # b"" instead of the 20 s socket timeout firing).
    answer = _exchange(served, b"GET /v1/demands/a?token=abcdefgh HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")


def test_uvicorn_closes_a_connection_whose_headers_trickle(served):
    # Headers started and never finished: closed after the header deadline, without an answer
    # (the 20 s socket timeout would fail the test instead).
    assert _exchange(served, b"GET /v1/demands/a HTTP/1.1\r\nHost: x\r\n") == b""


def test_uvicorn_closes_a_connection_that_never_speaks(served):
    assert _exchange(served, b"") == b""


def test_a_tracking_token_is_144_bits_of_hmac_and_compared_in_constant_time():
    secret = "s" * 32
    tokens = {tracking_token(secret, str(uuid.uuid4())) for _ in range(1000)}
    assert len(tokens) == 1000
    assert {len(base64.urlsafe_b64decode(t)) for t in tokens} == {18}  # 144 bits each
    demand = str(uuid.uuid4())
    token = tracking_token(secret, demand)
    assert tracking_token(secret, demand) == token  # derived, never stored
    assert tracking_token("t" * 32, demand) != token  # nothing without the secret
    assert not tracking_token_matches(secret, demand, "令牌" + token)  # any text, no error
    source = inspect.getsource(tracking_token_matches)
    assert "compare_digest" in source


async def test_the_console_limits_guessing_at_sign_in_and_tracking_pages(tmp_path):
    settings = ConsoleSettings(
        auth_secret="c" * 40,
        api_keys_file=tmp_path / "keys.json",
        rate_limit_per_address=3,
    )
    async with _client(create_console(settings)) as client:
        guesses = [
            (await client.post("/sign-in", data={"credential": f"guess-{i}"})).status_code
            for i in range(4)
        ]
        page = await client.get("/track/0f5b?token=guess-token")
    assert 429 not in guesses[:3]
    assert guesses[3] == 429
    assert page.status_code == 429
    assert int(page.headers["Retry-After"]) >= 1
