"""The coordinators' time to act runs as the work's limits do: in working time, or on the clock
for critical demands and the emergency profile."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from contracts.events import Urgency
from contracts.lists import load_lists
from contracts.lists.calendar import TimeLimit
from services.routing.deadlines import working_clock
from services.routing.settings import RoutingSettings
from services.routing.timers import ClockPolicy

LISTS = load_lists()
SATURDAY_NIGHT = datetime(2026, 11, 28, 22, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize(
    ("matter", "urgency", "working"),
    [
        ("CITY-COMMUNITY-ENV", Urgency.normal, True),
        ("CITY-COMMUNITY-ENV", Urgency.urgent, True),
        ("CITY-COMMUNITY-ENV", Urgency.critical, False),
        ("SAFETY-GAS-LEAK", Urgency.normal, False),  # the emergency profile
        ("NOT-IN-THE-LISTS", Urgency.normal, True),
        ("NOT-IN-THE-LISTS", Urgency.critical, False),
    ],
)
def test_a_demand_runs_in_working_time_unless_its_limits_run_by_the_clock(matter, urgency, working):
    assert working_clock(LISTS, matter_code=matter, urgency=urgency) is working


def test_a_coordinator_of_work_on_the_clock_acts_within_calendar_hours():
    policy = ClockPolicy(
        calendar=LISTS.calendar, remind_share=0.8, act_within=TimeLimit.parse("4 working_hours")
    )
    assert policy.act_by(SATURDAY_NIGHT, False) == SATURDAY_NIGHT.replace(hour=23)
    monday = datetime(2026, 11, 30, 14, 0, tzinfo=SATURDAY_NIGHT.tzinfo)
    assert policy.act_by(SATURDAY_NIGHT, True) == monday  # 08:30–12:00, then 13:30–14:00


def test_the_time_on_the_clock_must_be_calendar_hours():
    base = {
        "DATABASE_URL": "postgresql://x/y",
        "KAFKA_BOOTSTRAP_SERVERS": "x:1",
        "LIANDONG_AUTH_SECRET": "s" * 32,
    }
    settings = RoutingSettings.model_validate(base)
    assert settings.critical_act_within == "1 calendar_hours"
    with pytest.raises(ValidationError, match="calendar_hours"):
        RoutingSettings.model_validate({**base, "critical_act_within": "1 working_hours"})
