"""Deadline arithmetic across weekends, the end of working hours and national holidays with
adjusted working days (State Council calendar of 2026, as shipped in the lists)."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from contracts.lists.calendar import BusinessCalendar, TimeLimit, WorkingPeriod
from contracts.lists.loader import read_holidays
from tests.conftest import SHARED_DATA

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def calendar():
    holidays, workdays, years = read_holidays(
        SHARED_DATA / "calendar" / "cn-holidays-2025-2026.csv"
    )
    return BusinessCalendar(
        timezone="Asia/Shanghai",
        working_periods=[
            WorkingPeriod(time(8, 30), time(12)),
            WorkingPeriod(time(13, 30), time(17, 30)),
        ],
        holidays=holidays,
        adjusted_workdays=workdays,
        published_years=years,
    )


def local(year, month, day, hour, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def due(calendar, start, limit):
    deadline = calendar.add(start, TimeLimit.parse(limit))
    assert deadline.at.tzinfo is UTC
    return deadline.at.astimezone(SHANGHAI), deadline.provisional


def test_working_hours_continue_after_the_lunch_break(calendar):
    assert due(calendar, local(2026, 11, 26, 11, 0), "2 working_hours") == (
        local(2026, 11, 26, 14, 30),
        False,
    )


def test_working_hours_carry_over_the_end_of_the_day(calendar):
    # Thursday 16:30 + 2 h: one hour today, the second from 08:30 on Friday.
    assert due(calendar, local(2026, 11, 26, 16, 30), "2 working_hours")[0] == local(
        2026, 11, 27, 9, 30
    )


def test_a_demand_at_night_counts_from_the_next_morning(calendar):
    assert due(calendar, local(2026, 11, 26, 22, 0), "1 working_hours")[0] == local(
        2026, 11, 27, 9, 30
    )


def test_working_hours_skip_the_weekend(calendar):
    # Friday 17:00 + 2 h: 30 minutes on Friday, then Monday from 08:30.
    assert due(calendar, local(2026, 11, 27, 17, 0), "2 working_hours")[0] == local(
        2026, 11, 30, 10, 0
    )


def test_working_days_skip_the_weekend(calendar):
    assert due(calendar, local(2026, 11, 27, 10, 0), "1 working_days")[0] == local(
        2026, 11, 30, 10, 0
    )
    assert due(calendar, local(2026, 11, 26, 10, 0), "5 working_days")[0] == local(
        2026, 12, 3, 10, 0
    )


def test_national_day_week_is_skipped_and_its_adjusted_saturday_counts(calendar):
    # Wednesday 30 Sep 2026 + 1 working day: 1–7 Oct are holidays, Thursday 8 Oct is the next.
    assert due(calendar, local(2026, 9, 30, 10, 0), "1 working_days")[0] == local(
        2026, 10, 8, 10, 0
    )
    # Friday 9 Oct + 1 working day: Saturday 10 Oct is an adjusted working day.
    assert due(calendar, local(2026, 10, 9, 10, 0), "1 working_days")[0] == local(
        2026, 10, 10, 10, 0
    )
    # Sunday 20 Sep is a working day too: working hours run on it.
    assert due(calendar, local(2026, 9, 19, 12, 0), "1 working_hours")[0] == local(
        2026, 9, 20, 9, 30
    )


def test_spring_festival_2026(calendar):
    # Friday 13 Feb + 1 working day = Saturday 14 Feb (adjusted working day).
    assert due(calendar, local(2026, 2, 13, 9, 0), "1 working_days")[0] == local(2026, 2, 14, 9, 0)
    # Saturday 14 Feb + 1 working day: 15–23 Feb are holidays, Tuesday 24 Feb is next.
    assert due(calendar, local(2026, 2, 14, 9, 0), "1 working_days")[0] == local(2026, 2, 24, 9, 0)
    # 4 working hours from Saturday 14 Feb 16:00 land on Tuesday 24 Feb.
    assert due(calendar, local(2026, 2, 14, 16, 0), "4 working_hours")[0] == local(
        2026, 2, 24, 11, 0
    )


def test_working_time_between_two_moments_skips_nights_weekends_and_holidays(calendar):
    def hours(start, end):
        return calendar.working_time(start, end).total_seconds() / 3600

    assert hours(local(2026, 11, 26, 10), local(2026, 11, 26, 15)) == 3.5  # lunch left out
    assert hours(local(2026, 11, 27, 17), local(2026, 11, 30, 10)) == 2  # a weekend between
    # Wednesday 30 Sep 10:00 to Thursday 8 Oct 10:00: the National Day week has no working time.
    assert hours(local(2026, 9, 30, 10), local(2026, 10, 8, 10)) == 7.5
    assert hours(local(2026, 11, 26, 15), local(2026, 11, 26, 10)) == 0  # backwards: none


def test_a_share_of_a_window_is_a_share_of_its_working_time(calendar):
    friday = local(2026, 11, 27, 17)
    monday_ten = local(2026, 11, 30, 10)
    assert calendar.at_working_share(friday, monday_ten, 0.8) == local(2026, 11, 30, 9, 36)
    # Saturday night to Sunday morning holds no working time: the clock's share.
    night = local(2026, 11, 28, 22)
    assert calendar.at_working_share(night, night.replace(day=29, hour=2), 0.5) == local(
        2026, 11, 29, 0
    )


def test_calendar_hours_ignore_holidays(calendar):
    assert due(calendar, local(2026, 10, 1, 10, 0), "24 calendar_hours") == (
        local(2026, 10, 2, 10, 0),
        False,
    )


def test_past_the_published_years_plain_weekdays_and_a_provisional_flag(calendar):
    # 2027 is not published yet: 1 Jan 2027 (a Friday) is treated as a plain working day.
    at, provisional = due(calendar, local(2026, 12, 31, 10, 0), "1 working_days")
    assert at == local(2027, 1, 1, 10, 0)
    assert provisional is True
    assert due(calendar, local(2026, 12, 30, 10, 0), "1 working_hours")[1] is False


@pytest.mark.parametrize(
    "text", ["2 hours", "two working_days", "0 working_hours", "1.5 working_days", ""]
)
def test_malformed_limits_are_refused(text):
    with pytest.raises(ValueError, match="time limit"):
        TimeLimit.parse(text)
