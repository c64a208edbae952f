"""The console's own rules, without the services: sign-in redirects, `next` stays on this
site, demo users only in demo mode, security headers."""

import re
from datetime import UTC, datetime

import httpx

from services.console.app import create_app
from services.console.pages import safe_next
from services.console.settings import ConsoleSettings
from services.runtime.auth import Role, issue_token

SECRET = "c" * 40


def _client(tmp_path, *, demo: bool) -> httpx.AsyncClient:
    settings = ConsoleSettings(auth_secret=SECRET, api_keys_file=tmp_path / "keys.json", demo=demo)
    transport = httpx.ASGITransport(app=create_app(settings))
    return httpx.AsyncClient(transport=transport, base_url="http://console.test")


async def _csrf(client: httpx.AsyncClient) -> str:
    page = (await client.get("/sign-in")).text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_next_never_leaves_the_site():
    assert safe_next("/leaders?level=district") == "/leaders?level=district"
    for elsewhere in ("//evil.example/x", "https://evil.example", "/\\evil.example", None, ""):
        assert safe_next(elsewhere) == "/"


async def test_a_page_without_a_session_sends_to_sign_in_and_back(tmp_path):
    client = _client(tmp_path, demo=False)
    answer = await client.get("/department?state=signed")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=%2Fdepartment%3Fstate%3Dsigned"
    token = issue_token(
        SECRET, sub="department:d", role=Role.department, now=datetime.now(UTC), department_id="d"
    )
    signed_in = await client.post(
        "/sign-in",
        data={"csrf": await _csrf(client), "credential": token, "next": "//evil.example/"},
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/department"  # not the other site
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie


async def test_demo_users_exist_only_in_demo_mode(tmp_path):
    client = _client(tmp_path, demo=False)
    assert 'data-demo="operator"' not in (await client.get("/sign-in")).text
    csrf = await _csrf(client)
    answer = await client.post("/sign-in/demo", data={"csrf": csrf, "user": "operator"})
    assert answer.status_code == 403
    demo = _client(tmp_path, demo=True)
    assert 'data-demo="operator"' in (await demo.get("/sign-in")).text


async def test_every_page_forbids_framing_and_inline_script(tmp_path):
    headers = (await _client(tmp_path, demo=False).get("/sign-in")).headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
