"""The abuse limits on the running services, one table beside the authorisation matrix: rate
limits of the public endpoints (429 with Retry-After), CORS off, body, header and JSON-depth
limits. Rate-limited cells call from their own loopback address (127.0.0.x), so the address
the other tests share is never slowed down."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest

from services.runtime.api_keys import add_key
from services.runtime.auth import Role, issue_token
from tests.conftest import AUTH_SECRET

PER_ADDRESS = 120  # the defaults of LIANDONG_RATE_LIMIT_PER_ADDRESS and …_PER_CREDENTIAL
PER_CREDENTIAL = 60
CHANNEL = {
    "Authorization": "Bearer "
    + issue_token(AUTH_SECRET, sub="channel:web", role=Role.channel, now=datetime.now(UTC))
}


@dataclass(frozen=True)
class Cell:
    what: str
    service: str
    method: str
    path: str  # {demand} is a fresh id per request, {i} the request's number
    status: int  # the answer to the last request (a 429: to the first one refused)
    repeat: int = 1  # for a 429: the burst that must pass first; up to three times that is sent
    source: str = "127.0.0.1"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    reason: str = ""  # a text the last answer must contain


NESTED = b'{"channel": "web", "content": ' + b"[" * 40 + b"]" * 40 + b"}"
CELLS = [
    Cell(
        "tracking, one token past its limit",
        "intake",
        "GET",
        "/v1/demands/{demand}?token=guessed-token-1",
        429,
        repeat=PER_CREDENTIAL + 1,
        source="127.0.0.2",
        reason="rate limit",
    ),
    Cell(
        "tracking, one address guessing tokens past its limit",
        "intake",
        "GET",
        "/v1/demands/{demand}?token=guess-{i:06}",
        429,
        repeat=PER_ADDRESS + 1,
        source="127.0.0.3",
        reason="rate limit",
    ),
    Cell(
        "evaluation, one token past its limit",
        "feedback",
        "POST",
        "/v1/demands/{demand}/evaluation?token=guessed-token-2",
        429,
        repeat=PER_CREDENTIAL + 1,
        source="127.0.0.4",
        headers={"content-type": "application/json"},
        body=b'{"resolved": true, "satisfaction": "satisfied"}',
    ),
    Cell(
        "tracking under the limit: the token's 404",
        "intake",
        "GET",
        "/v1/demands/{demand}?token=guessed-token-3",
        404,
        repeat=3,
        source="127.0.0.5",
    ),
    Cell(
        "a staff endpoint is not rate limited",
        "intake",
        "POST",
        "/v1/demands",
        422,
        repeat=PER_ADDRESS + 1,
        source="127.0.0.6",
        headers={**CHANNEL, "content-type": "application/json"},
        body=b"{}",
    ),
    Cell(
        "body over 64 KiB",
        "intake",
        "POST",
        "/v1/demands",
        413,
        headers={**CHANNEL, "content-type": "application/json"},
        body=b'{"content": "' + b"x" * 70_000 + b'"}',
    ),
    Cell(
        "JSON nested 40 deep",
        "intake",
        "POST",
        "/v1/demands",
        422,
        headers={**CHANNEL, "content-type": "application/json"},
        body=NESTED,
        reason="nested deeper than 32",
    ),
    Cell(
        "70 headers",
        "routing",
        "GET",
        "/v1/tasks",
        431,
        headers={f"x-filler-{n}": "1" for n in range(70)},
        reason="more than 64 headers",
    ),
    Cell(
        "headers over 16 KiB in all",
        "feedback",
        "GET",
        "/health/live",
        431,
        headers={f"x-filler-{n}": "a" * 4000 for n in range(5)},
        reason="larger than 16384 bytes",
    ),
]


async def _last_answer(cell: Cell, base: str) -> httpx.Response:
    """The answer to the last of `repeat` requests; for a 429 cell, to the first refused one,
    which must come after the burst (the bucket refills as the requests go, so it may come a
    few requests later)."""
    transport = httpx.AsyncHTTPTransport(local_address=cell.source)
    tries = cell.repeat * 3 if cell.status == 429 else cell.repeat
    async with httpx.AsyncClient(transport=transport, timeout=10) as client:
        response = None
        for i in range(tries):
            path = cell.path.format(demand=uuid.uuid4(), i=i)
            response = await client.request(
                cell.method, base + path, headers=cell.headers, content=cell.body
            )
            if response.status_code == 429:
                assert i >= cell.repeat - 1, f"429 after {i + 1} requests, before the burst"
                break
        assert response is not None
        return response


@pytest.mark.parametrize("cell", CELLS, ids=[cell.what for cell in CELLS])
async def test_abuse_limits_answer_as_the_table_says(services, cell):
    response = await _last_answer(cell, services.urls[cell.service])
    assert response.status_code == cell.status, response.text
    assert cell.reason in response.text
    if cell.status == 429:
        assert int(response.headers["Retry-After"]) >= 1


async def test_open311_reads_are_limited_per_key(services, tmp_path):
    # A key of its own, so the matrix's and the Open311 tests' keys keep their buckets.
    key, _ = add_key(services.keys_file, sub="app-burst", role=Role.channel)
    url = f"{services.urls['intake']}/open311/v2/requests.json?api_key={key}"
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.7")
    async with httpx.AsyncClient(transport=transport, timeout=10) as client:
        answers = [(await client.get(url)).status_code for _ in range(PER_CREDENTIAL * 3)]
    assert set(answers[:PER_CREDENTIAL]) == {200}, answers  # the burst passes
    assert 429 in answers


async def test_no_cross_site_reader_is_allowed_by_default(services):
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    async with httpx.AsyncClient(timeout=10) as client:
        for base in services.urls.values():
            options = await client.options(f"{base}/v1/demands", headers=preflight)
            get = await client.get(f"{base}/health/live", headers={"Origin": "https://x.example"})
            assert "access-control-allow-origin" not in options.headers
            assert "access-control-allow-origin" not in get.headers
