"""The runtime's role guard: require(...) admits its roles and narrows what they must carry."""

from datetime import UTC, datetime
from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.runtime.auth import (
    CoordinatorDep,
    CoordinatorPrincipal,
    DepartmentDep,
    DepartmentPrincipal,
    FrontEndDep,
    Role,
    issue_token,
)
from services.runtime.clock import FixedClock

SECRET = "s" * 32
NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)


def _client() -> TestClient:
    app = FastAPI()

    @app.get("/department")
    def department(principal: DepartmentDep) -> dict[str, str]:
        assert isinstance(principal, DepartmentPrincipal)
        return {"department_id": principal.department_id}

    @app.get("/coordinator")
    def coordinator(principal: CoordinatorDep) -> dict[str, str]:
        assert isinstance(principal, CoordinatorPrincipal)
        return {"unit_code": principal.unit_code}

    @app.get("/front-end")
    def front_end(principal: FrontEndDep) -> dict[str, str]:
        return {"role": principal.role.value}

    settings = SimpleNamespace(auth_secret=SecretStr(SECRET), jwt_public_key=None, jwt_issuer=None)
    app.state.runtime = SimpleNamespace(settings=settings, clock=FixedClock(NOW))
    return TestClient(app)


def _bearer(
    role: Role, *, department_id: str | None = None, unit_code: str | None = None
) -> dict[str, str]:
    token = issue_token(
        SECRET,
        sub="someone",
        role=role,
        now=NOW,
        department_id=department_id,
        unit_code=unit_code,
    )
    return {"Authorization": f"Bearer {token}"}


def test_a_department_credential_comes_back_narrowed_to_its_department():
    response = _client().get("/department", headers=_bearer(Role.department, department_id="d.1"))
    assert response.status_code == 200
    assert response.json() == {"department_id": "d.1"}


def test_a_coordinator_credential_comes_back_narrowed_to_its_unit():
    response = _client().get(
        "/coordinator", headers=_bearer(Role.coordinator, unit_code="330502001000")
    )
    assert response.status_code == 200
    assert response.json() == {"unit_code": "330502001000"}


def test_another_role_is_refused_naming_the_roles_admitted():
    response = _client().get("/department", headers=_bearer(Role.operator))
    assert response.status_code == 403
    assert response.json()["detail"] == "this API is for department credentials, not operator"


def test_a_department_credential_without_its_department_is_refused():
    response = _client().get("/department", headers=_bearer(Role.department))
    assert response.status_code == 403
    assert response.json()["detail"] == "a department credential must name its department_id"


def test_a_coordinator_credential_without_its_unit_is_refused():
    response = _client().get("/coordinator", headers=_bearer(Role.coordinator))
    assert response.status_code == 403
    assert "unit_code" in response.json()["detail"]


def test_a_guard_of_several_roles_admits_each_of_them():
    client = _client()
    for role in (Role.channel, Role.operator):
        assert client.get("/front-end", headers=_bearer(role)).json() == {"role": role.value}
    assert (
        client.get(
            "/front-end", headers=_bearer(Role.coordinator, unit_code="330502001000")
        ).status_code
        == 403
    )
