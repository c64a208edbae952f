"""The OpenAPI document tells the truth about a 422: every service answers a request it cannot
use with `{"detail": ..., "errors": [{"field", "reason"}]}` (services/runtime/http.py), not
FastAPI's default list of `ValidationError`s, so the document says so."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    field: str = Field(description="where: body.<name>, query.<name>, header.<name>, path.<name>")
    reason: str


class RequestProblem(BaseModel):
    """A request that cannot be used: what went wrong overall, and each field with its reason."""

    detail: str = Field(examples=["request validation failed"])
    errors: list[FieldProblem]


# FastAPI's name for the 422 body, referenced by every operation that takes input.
_DEFAULT_422 = "HTTPValidationError"


def describe_request_problems(app: FastAPI) -> None:
    """Make `app.openapi()` describe the 422 body the services really send."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = generate().setdefault("components", {}).setdefault("schemas", {})
            if _DEFAULT_422 in schemas:
                shape = RequestProblem.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
                schemas.update(shape.pop("$defs", {}))
                schemas[_DEFAULT_422] = shape
                schemas.pop("ValidationError", None)  # FastAPI's item, now referenced by none
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]
