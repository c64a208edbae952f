"""Masking of personal data inside free text: phone and ID numbers, labelled and known names,
and the house-number part of addresses, for readers the data list keeps them from."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
_HAN = r"[\u4e00-\u9fff]"
# A name after a label citizens and clerks write ("联系人：王小明", "我叫王小明"): the surname
# stays, the rest is starred. Two to four characters, so a name followed by more text is over-masked
# rather than left readable.
_LABELLED_NAME = re.compile(
    rf"((?:姓名|联系人|诉求人|来电人|反映人|投诉人|举报人|当事人)\s*[:：]\s*|(?:我叫|本人叫))"
    rf"({_HAN})({_HAN}{{1,3}})"
)
# The house-number part of an address: the digits before 号, 号楼, 幢, 栋, 单元, 室, 弄, 层.
_HOUSE_NUMBER = re.compile(r"[0-9０-９]+(?=\s*(?:号|幢|栋|单元|室|弄|层|楼))")


def _star_name(match: re.Match[str]) -> str:
    return match.group(1) + match.group(2) + "*" * len(match.group(3))


def mask_text(text: str) -> str:
    """Mask mainland mobile numbers, resident ID numbers and labelled names in free text."""
    text = _ID_NUMBER.sub(r"\1********\2", text)
    text = _PHONE.sub(r"\1****\2", text)
    return _LABELLED_NAME.sub(_star_name, text)


def mask_house_numbers(text: str) -> str:
    """The street stays (where the problem is), the house, building and flat numbers go."""
    return _HOUSE_NUMBER.sub(lambda m: "*" * len(m.group(0)), text)


def mask_name(name: str) -> str:
    return name[:1] + "*" * (len(name) - 1)


def mask_known(text: str, names: Iterable[str] = (), addresses: Iterable[str] = ()) -> str:
    """`text` with a citizen's known name starred wherever it appears (a name has no pattern
    of its own) and known addresses without their house numbers."""
    for name in names:
        if name and len(name) >= 2:
            text = text.replace(name, mask_name(name))
    for address in addresses:
        if address:
            text = text.replace(address, mask_house_numbers(address))
    return text


# The personal values of the citizen whose request or event this task of the event loop is
# handling, so the log processor can mask them wherever they turn up in a line.
_KNOWN: ContextVar[tuple[tuple[str, ...], tuple[str, ...]]] = ContextVar(
    "liandong_known_personal", default=((), ())
)


@contextmanager
def citizens_in_hand(
    names: Iterable[str | None], addresses: Iterable[str | None] = ()
) -> Iterator[None]:
    """While handling these citizens' demands: their names and addresses are masked in every
    log line this task of the event loop writes."""
    known_names, known_addresses = _KNOWN.get()
    token = _KNOWN.set(
        (
            known_names + tuple(n for n in names if n),
            known_addresses + tuple(a for a in addresses if a),
        )
    )
    try:
        yield
    finally:
        _KNOWN.reset(token)


def mask_for_log(text: str) -> str:
    """What a log line may show of free text: no phone, ID number, labelled or known name, and
    no house number (logs are read by operators, who are no role of the data list)."""
    names, addresses = _KNOWN.get()
    return mask_house_numbers(mask_known(mask_text(text), names, addresses))
