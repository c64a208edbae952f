"""Text a request may carry: every string field, form field and query parameter of the HTTP APIs
is checked here before it reaches the database or a serialiser.

Two things pass a JSON or URL decoder and break later: a NUL character (`\\u0000`, `%00`), which
PostgreSQL cannot store in a text column, and a lone UTF-16 surrogate (`\\ud800`), which Python's
JSON parser accepts but which is no character at all, so nothing can encode it as UTF-8."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator

_NUL = "\x00"
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why the string cannot be stored or sent on, or None when it can."""
    if _NUL in value:
        return "must not contain a NUL character (\\u0000)"
    if _SURROGATE.search(value):
        return "must not contain a lone UTF-16 surrogate (\\ud800-\\udfff): it is not a character"
    return None


def check_text(value: Any) -> Any:
    """A Pydantic before-validator: a string that cannot be stored is refused with the reason
    (before the length and pattern checks, so the reason is this one); other input passes on
    to the field's own validation."""
    if isinstance(value, str) and (problem := text_problem(value)) is not None:
        raise ValueError(problem)
    return value


def first_problem(fields: Mapping[str, str]) -> tuple[str, str] | None:
    """(name, reason) of the first field that cannot be stored (for hand-parsed forms); a name
    that cannot be stored itself is not repeated in the answer."""
    for name, value in fields.items():
        if (problem := text_problem(name)) is not None:
            return "a field name", problem
        if (problem := text_problem(value)) is not None:
            return name, problem
    return None


Text = Annotated[str, BeforeValidator(check_text)]
"""A string a request may carry: no NUL character, no lone surrogate. Every free-text and
identifier field of a request model, and every string query parameter, is one."""
