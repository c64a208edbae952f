"""What every request string must be: storable and encodable (no NUL, no lone surrogate), and
digits that are ASCII digits, matched against the whole string."""

import pytest
from pydantic import BaseModel, Field, ValidationError

from contracts.lists.calendar import TimeLimit
from contracts.text import Text, first_problem, text_problem
from services.feedback.rates import check_month


class Body(BaseModel):
    text: Text = Field(min_length=5, max_length=50)
    ids: list[Text] = Field(default_factory=list)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"text": "abcde\ud800"}, "lone UTF-16 surrogate"),
        ({"text": "ab\x00cde"}, "NUL character"),
        ({"text": "\x00"}, "NUL character"),  # the reason, not "too short"
        ({"text": "abcdef", "ids": ["330502000000.x", "\udfff"]}, "lone UTF-16 surrogate"),
    ],
)
def test_text_that_cannot_be_stored_is_refused_with_the_reason(body, reason):
    with pytest.raises(ValidationError, match=reason):
        Body.model_validate(body)


def test_ordinary_text_passes():
    text = "小区楼下烧烤店每晚噪音扰民 😀 \t\n ok"
    assert Body(text=text).text == text
    assert text_problem(text) is None


def test_form_fields_name_the_first_bad_one():
    assert first_problem({"a": "x", "b": "y\x00", "c": "\ud800"}) == ("b", text_problem("\x00"))
    assert first_problem({"a\x00": "x"}) == ("a field name", text_problem("\x00"))
    assert first_problem({"a": "x"}) is None


@pytest.mark.parametrize("text", ["５ working_days", "5 working_days\nx", "5 working_daysx"])
def test_time_limits_take_ascii_digits_and_nothing_after(text):
    with pytest.raises(ValueError, match="is not"):
        TimeLimit.parse(text)


@pytest.mark.parametrize(
    ("month", "reason"),
    [
        ("0000-05", "between 2000 and 2100"),
        ("9999-12", "between 2000 and 2100"),
        ("1999-12", "between 2000 and 2100"),
        ("２０２６-11", "YYYY-MM"),
        ("2026-11\n", "YYYY-MM"),
        ("2026-13", "YYYY-MM"),
    ],
)
def test_months_are_ascii_and_bounded(month, reason):
    with pytest.raises(ValueError, match=reason):
        check_month(month)


def test_bounding_months_are_accepted():
    assert check_month("2000-01") == "2000-01"
    assert check_month("2100-12") == "2100-12"
