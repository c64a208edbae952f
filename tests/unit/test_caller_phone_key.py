"""A caller's phone is looked up in one normalised form, however it was written."""

import pytest

from services.intake.callers import phone_key


@pytest.mark.parametrize(
    "written",
    [
        "13900001111",
        "139 0000 1111",
        "139-0000-1111",
        "+86 139 0000 1111",
        "0086 13900001111",
        "8613900001111",
    ],
)
def test_every_way_of_writing_a_mobile_number_has_one_key(written):
    assert phone_key(written) == "13900001111"


def test_a_landline_keeps_its_area_code():
    assert phone_key("0572-2345678") == "05722345678"


def test_no_phone_has_no_key():
    assert phone_key(None) is None
    assert phone_key("") is None
    assert phone_key("--") is None
