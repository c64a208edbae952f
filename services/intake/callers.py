"""A caller's phone in the one form a lookup searches by: digits only, without China's country
code, so "+86 139-0000-0000", "0086 13900000000" and "13900000000" find the same demands."""

from __future__ import annotations

import re

_NOT_DIGIT = re.compile(r"[^0-9]")
MOBILE_WITH_COUNTRY = 13  # 86 and the 11 digits of a mobile number


def phone_key(phone: str | None) -> str | None:
    """The normalised phone (kept beside the phone, indexed), or None without one."""
    if not phone:
        return None
    digits = _NOT_DIGIT.sub("", phone)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == MOBILE_WITH_COUNTRY and digits.startswith("86"):
        digits = digits[2:]
    return digits or None
