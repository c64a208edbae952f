"""The OpenAPI documents describe the 422 the services really send (schemathesis found every
422 breaking the schema FastAPI published by default)."""

import jsonschema
import pytest
from fastapi.testclient import TestClient

from services.intake.app import create_app

SECRET = "s" * 32


@pytest.fixture
def intake(monkeypatch):
    # Nothing here connects: the app is built, never started.
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("LIANDONG_AUTH_SECRET", SECRET)
    return create_app()


def _schema_of_422(document, path, method):
    body = document["paths"][path][method]["responses"]["422"]["content"]["application/json"]
    return {**document, **body["schema"]}  # components resolve against the document


@pytest.mark.parametrize(
    ("method", "path", "url"),
    [
        ("get", "/v1/demands/{demand_id}", "/v1/demands/not-a-uuid?token=x"),
        ("get", "/v1/demands/{demand_id}", "/v1/demands/00000000-0000-4000-8000-000000000000"),
    ],
)
def test_a_request_validation_error_matches_the_published_schema(intake, method, path, url):
    response = TestClient(intake).request(method, url)
    assert response.status_code == 422
    body = response.json()
    assert body["errors"], body
    jsonschema.validate(body, _schema_of_422(intake.openapi(), path, method))


def test_the_published_422_names_field_and_reason(intake):
    schemas = intake.openapi()["components"]["schemas"]
    assert schemas["HTTPValidationError"]["properties"]["errors"]["items"] == {
        "$ref": "#/components/schemas/FieldProblem"
    }
    assert set(schemas["FieldProblem"]["required"]) == {"field", "reason"}
    assert "ValidationError" not in schemas
