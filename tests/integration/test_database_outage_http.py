"""A request that cannot reach the database gets a retryable 503 with a JSON body and
Retry-After, not a plain-text 500: the services are real, their database is a closed port."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest

from services.intake.app import create_app as create_intake_app
from services.intake.settings import IntakeSettings
from services.routing.app import create_app as create_routing_app
from services.routing.settings import RoutingSettings
from services.runtime.auth import Role, issue_token
from services.runtime.embedded import free_port
from tests.conftest import AUTH_SECRET

DEMAND = {
    "channel": "hotline",
    "content": "小区楼下烧烤店每晚噪音扰民到凌晨两点",
    "location": {"unit_code": "330502001016"},
    "citizen": {"name": "张三", "phone": "13812345678"},
}


def _env(infra) -> dict[str, str]:
    closed = free_port()  # bound and released: nothing listens there
    return {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed}/liandong",
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "LIANDONG_AUTH_SECRET": AUTH_SECRET,
    }


def _bearer(role: Role, subject: str) -> dict[str, str]:
    token = issue_token(
        AUTH_SECRET,
        sub=f"{role.value}:{subject}",
        role=role,
        now=datetime.now(UTC),
        department_id=subject if role is Role.department else None,
    )
    return {"Authorization": f"Bearer {token}"}


def _assert_retryable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["detail"] == "the service's database is unavailable; retry later"


async def test_a_demand_submitted_while_the_database_is_down_gets_503_json(infra, caplog):
    app = create_intake_app(IntakeSettings.model_validate(_env(infra)))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            with caplog.at_level(logging.WARNING):
                response = await client.post(
                    "/v1/demands",
                    json=DEMAND,
                    headers={**_bearer(Role.channel, "hotline"), "Idempotency-Key": "outage-1"},
                )
    finally:
        await app.state.runtime.engine.dispose()
    _assert_retryable(response)
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("path", ["/v1/tasks", "/v1/escalations"])
async def test_a_department_reading_its_tasks_while_the_database_is_down_gets_503(infra, path):
    app = create_routing_app(RoutingSettings.model_validate(_env(infra)))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = (
        _bearer(Role.department, "330502000000.urban_management")
        if path == "/v1/tasks"
        else {
            "Authorization": "Bearer "
            + issue_token(
                AUTH_SECRET,
                sub="coordinator:330502000000",
                role=Role.coordinator,
                now=datetime.now(UTC),
                unit_code="330502000000",
            )
        }
    )
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
            response = await client.get(path, headers=headers)
    finally:
        await app.state.runtime.engine.dispose()
    _assert_retryable(response)


async def test_an_error_that_is_not_an_outage_still_answers_500(infra):
    from fastapi import APIRouter
    from sqlalchemy import text

    intake = create_intake_app(
        IntakeSettings.model_validate(_env(infra) | {"DATABASE_URL": infra.database_url})
    )
    runtime = intake.state.runtime
    router = APIRouter()

    @router.get("/broken-sql")
    async def broken_sql() -> None:
        async with runtime.sessions() as session:
            await session.execute(text("select * from no_such_table"))

    @router.get("/missing-file")
    async def missing_file() -> None:
        open("/no/such/file")  # noqa: ASYNC230, SIM115

    intake.include_router(router)  # beside the service's own routes, with its handlers
    transport = httpx.ASGITransport(app=intake, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/broken-sql")).status_code == 500
            assert (await client.get("/missing-file")).status_code == 500
    finally:
        await runtime.engine.dispose()
