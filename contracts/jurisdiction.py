"""12-digit statistical division codes (PP CC DD TTT VVV): level and chain derived from the code."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator

# ASCII digits, the whole string: `\d` takes full-width digits and `$` a trailing newline.
_CODE = re.compile(r"[0-9]{12}")


class Level(StrEnum):
    """Administrative levels, top to bottom. Urban and rural units share a level."""

    province = "province"
    city = "city"  # prefecture-level city
    district = "district"  # district or county
    street = "street"  # street (街道), town (镇) or township (乡)
    community = "community"  # community (社区) or village (村)


def validate_code(code: str) -> str:
    """Return the code if it is a well-formed 12-digit unit code, else raise ValueError."""
    if not _CODE.fullmatch(code):
        raise ValueError("a unit code has exactly 12 digits (0-9)")
    if code[:2] == "00":
        raise ValueError("a unit code starts with a province code")
    # A zero segment may only be followed by zero segments: 330500001000 is not a unit.
    segments = (code[2:4], code[4:6], code[6:9], code[9:12])
    seen_zero = False
    for segment in segments:
        if int(segment) == 0:
            seen_zero = True
        elif seen_zero:
            raise ValueError("a unit code cannot skip a level")
    return code


UnitCode = Annotated[str, AfterValidator(validate_code)]
"""A validated 12-digit unit code, for use in Pydantic models."""


def level_of(code: str) -> Level:
    validate_code(code)
    if code[2:] == "0000000000":
        return Level.province
    if code[4:] == "00000000":
        return Level.city
    if code[6:] == "000000":
        return Level.district
    if code[9:] == "000":
        return Level.street
    return Level.community


def parent_of(code: str) -> str | None:
    """The unit directly above, derived from the code; None for a province."""
    level = level_of(code)
    if level is Level.province:
        return None
    if level is Level.city:
        return code[:2] + "0" * 10
    if level is Level.district:
        return code[:4] + "0" * 8
    if level is Level.street:
        return code[:6] + "0" * 6
    return code[:9] + "000"


def chain_of(code: str, *, up_to: Level = Level.city) -> list[str]:
    """The unit and every unit above it, bottom first, stopping at `up_to` (the city by default)."""
    return list(_chain(code, up_to))


@lru_cache(maxsize=8192)
def _chain(code: str, up_to: Level) -> tuple[str, ...]:
    chain = [code]
    current: str | None = code
    while current is not None and level_of(current) is not up_to:
        current = parent_of(current)
        if current is not None:
            chain.append(current)
    return tuple(chain)


def city_of(code: str) -> str:
    """The 4-digit city prefix (province + city) of a unit below province level."""
    if level_of(code) is Level.province:
        raise ValueError("a province has no city")
    return code[:4]


def district_of(code: str) -> str | None:
    """The 6-digit district prefix, or None for a city-level unit."""
    if level_of(code) in (Level.province, Level.city):
        return None
    return code[:6]
