"""The arithmetic of the three rates, hot spots and the callback message, with plain facts."""

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.events import CallbackRequested
from contracts.lists import DEFAULT_LISTS, load_lists
from services.feedback import rates
from services.feedback.notifications import describe, mask_link, mask_phone, sms_text
from services.feedback.settings import FeedbackSettings
from tests.conftest import AUTH_SECRET

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 10, 2, tzinfo=UTC)  # 10:00 in Huzhou
D = "330502000000.urban_management"


@dataclass
class Task:
    assigned_at: datetime
    sign_due_at: datetime
    signed_at: datetime | None = None
    returned_at: datetime | None = None
    withdrawn_at: datetime | None = None
    department_id: str = D


@dataclass
class Reply:
    replied_at: datetime
    reply_due_at: datetime
    department_id: str = D


@dataclass
class Evaluation:
    occurred_at: datetime
    outcome: str = "evaluated"
    resolved: bool | None = True
    satisfaction: str | None = "satisfied"
    department_id: str = D


@dataclass
class Redo:
    requested_at: datetime
    department_id: str = D


def _metrics(counts):
    return {metric: n for (_, _, metric), n in counts.items()}


def test_a_task_counts_in_the_month_it_was_assigned_in_city_time():
    # 2026-10-31 17:00 UTC is 1 November 01:00 in Huzhou.
    task = Task(datetime(2026, 10, 31, 17, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    assert list(rates.task_counts(task, ZONE)) == [("2026-11", D, "assigned")]


@pytest.mark.parametrize(
    ("signed", "returned", "withdrawn", "expected"),
    [
        (1, None, None, {"assigned": 1, "responded_on_time": 1}),
        (3, None, None, {"assigned": 1}),  # signed after the 2-hour limit
        (2, None, None, {"assigned": 1, "responded_on_time": 1}),  # at the limit: on time
        (None, 1, None, {"assigned": 1, "responded_on_time": 1, "returned": 1}),
        (None, 5, None, {"assigned": 1, "returned": 1}),
        (None, None, 1, {}),  # reassigned before it was due to be signed: not counted
        (None, None, 3, {"assigned": 1}),  # withdrawn after the limit, never signed: late
        (1, None, 5, {"assigned": 1, "responded_on_time": 1}),
    ],
)
def test_response_and_return_of_a_task(signed, returned, withdrawn, expected):
    def at(hours):
        return None if hours is None else T0 + timedelta(hours=hours)

    task = Task(T0, T0 + timedelta(hours=2), at(signed), at(returned), at(withdrawn))
    assert _metrics(rates.task_counts(task, ZONE)) == expected


def test_a_reply_is_on_time_by_the_deadline_in_force():
    on_time = Reply(T0, T0)
    late = Reply(T0 + timedelta(seconds=1), T0)
    assert _metrics(rates.reply_counts(on_time, ZONE)) == {"replied": 1, "replied_on_time": 1}
    assert _metrics(rates.reply_counts(late, ZONE)) == {"replied": 1}


@pytest.mark.parametrize(
    ("evaluation", "expected"),
    [
        (Evaluation(T0), {"evaluated": 1, "resolved": 1, "satisfied": 1}),
        (
            Evaluation(T0, resolved=False, satisfaction="basically_satisfied"),
            {"evaluated": 1, "satisfied": 1},
        ),
        (Evaluation(T0, resolved=False, satisfaction="dissatisfied"), {"evaluated": 1}),
        (
            Evaluation(T0, resolved=True, satisfaction="dissatisfied"),
            {"evaluated": 1, "resolved": 1},
        ),
        (
            Evaluation(T0, outcome="not_evaluated", resolved=None, satisfaction=None),
            {"not_evaluated": 1},
        ),
    ],
)
def test_what_an_evaluation_counts(evaluation, expected):
    assert _metrics(rates.evaluation_counts(evaluation, ZONE)) == expected


def test_a_redo_counts_in_the_month_it_was_requested():
    assert rates.redo_counts(Redo(datetime(2026, 11, 30, 16, 30, tzinfo=UTC)), ZONE) == {
        ("2026-12", D, "redo"): 1  # 1 December 00:30 in Huzhou
    }


def test_the_difference_a_change_makes_is_what_the_counters_get():
    task = Task(T0, T0 + timedelta(hours=2))
    before = rates.task_counts(task, ZONE)
    task.signed_at = T0 + timedelta(hours=1)
    assert rates.difference(rates.task_counts(task, ZONE), before) == {
        ("2026-11", D, "responded_on_time"): 1
    }
    task.withdrawn_at = T0 + timedelta(minutes=1)  # signed, so still counted
    assert rates.difference(rates.task_counts(task, ZONE), rates.task_counts(task, ZONE)) == {}


def test_rates_and_their_denominators():
    figures = rates.Figures(
        {"assigned": 8, "responded_on_time": 6, "returned": 1, "replied": 5,
         "replied_on_time": 4, "evaluated": 4, "resolved": 3, "satisfied": 3, "redo": 1,
         "not_evaluated": 2}
    )  # fmt: skip
    assert figures.rates() == {
        "response_rate": 0.75,
        "resolution_rate": 0.75,
        "satisfaction_rate": 0.75,
        "on_time_reply_rate": 0.8,
        "return_rate": 0.125,
        "redo_rate": 0.25,
    }
    assert rates.Figures({}).rates() == dict.fromkeys(rates.RATES)
    assert rates.Figures({"assigned": 3, "responded_on_time": 2}).response_rate == 0.6667


def test_a_unit_takes_in_its_whole_subtree_and_nothing_beside_it():
    by_unit = {
        "330502010000": {"assigned": 1},  # the street itself
        "330502010001": {"assigned": 2},  # a community beneath it
        "330502011000": {"assigned": 4},  # the next street: not beneath 330502010000
        "330502000000": {"assigned": 8},  # the district
    }
    assert rates.rollup(by_unit, "330502010000")["assigned"] == 3
    assert rates.rollup(by_unit, "330502000000")["assigned"] == 15
    assert rates.rollup(by_unit, "330503000000")["assigned"] == 0
    assert rates.within("330502010001", "330502010000")
    assert not rates.within("330502011000", "330502010000")


def test_league_order_puts_missing_rates_last():
    good = rates.Figures({"evaluated": 2, "satisfied": 2})
    fair = rates.Figures({"evaluated": 2, "satisfied": 1, "resolved": 2})
    fairer = rates.Figures({"evaluated": 2, "satisfied": 1, "resolved": 1})
    none = rates.Figures({})
    ordered = sorted(
        [none, fairer, good, fair], key=lambda f: rates.rank_order(f, "satisfaction_rate")
    )
    assert ordered == [good, fair, fairer, none]


def test_months():
    assert rates.month_bounds("2026-12", ZONE) == (
        datetime(2026, 12, 1, tzinfo=ZONE),
        datetime(2027, 1, 1, tzinfo=ZONE),
    )
    assert rates.previous_month("2027-01") == "2026-12"
    assert rates.previous_month("2026-11") == "2026-10"


def test_hot_spots_are_the_matters_that_grew_most_beneath_the_unit():
    current = [
        ("330502010001", "ENV-NOISE-LIFE", 5),
        ("330502010002", "ENV-NOISE-LIFE", 2),
        ("330502010001", "ROAD-DAMAGE", 3),
        ("330502010001", "WATER-OUTAGE", 1),
        ("330502011001", "PARKING", 50),  # another street
    ]
    previous = [("330502010001", "ENV-NOISE-LIFE", 1), ("330502010001", "WATER-OUTAGE", 4)]
    spots = rates.hot_spots(current, previous, "330502010000", limit=5)
    assert [(s.matter_code, s.count, s.previous, s.growth) for s in spots] == [
        ("ENV-NOISE-LIFE", 7, 1, 6),
        ("ROAD-DAMAGE", 3, 0, 3),
    ]  # WATER-OUTAGE fell; PARKING is not beneath the street
    assert len(rates.hot_spots(current, previous, "330502010000", limit=1)) == 1


def test_the_callback_message_is_logged_masked():
    event = CallbackRequested(
        demand_id="6f1c1f3e-0000-4000-8000-000000000001",
        occurred_at=T0,
        department_id=D,
        department_name="吴兴区综合行政执法局",
        reply_text="已清理，联系人电话13912345678",
        reply_round=1,
        evaluation_url="https://12345.example/evaluate?demand=1&token=SECRET-TOKEN-1&x=1",
        evaluate_by=T0 + timedelta(days=3),
        citizen_phone="13800138000",
    )
    line = describe(event, zone=ZONE)
    assert line["to"] == "138****8000"
    assert line["channel"] == "sms"
    text = repr(line)
    assert "13800138000" not in text
    assert "SECRET-TOKEN-1" not in text
    assert "13912345678" not in text
    assert "token=***&x=1" in line["text"]
    assert mask_phone("0572-1234567") == "057*****4567"
    assert mask_phone(None) is None
    assert mask_link("http://x/?token=abc") == "http://x/?token=***"


def test_the_callback_deadline_is_written_in_the_lists_time_zone(tmp_path):
    """The message gives the evaluation deadline in the time zone the lists name, not in a
    hard-coded one: a city in UTC+6 reads 08:00 where 湖州 reads 10:00."""
    lists_dir = tmp_path / "lists"
    shutil.copytree(DEFAULT_LISTS, lists_dir)
    manifest = lists_dir / "lists.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("timezone: Asia/Shanghai", "timezone: Asia/Urumqi"))
    event = CallbackRequested(
        demand_id="6f1c1f3e-0000-4000-8000-000000000002",
        occurred_at=T0,
        department_id=D,
        department_name="吴兴区综合行政执法局",
        reply_text="已处理",
        reply_round=1,
        evaluation_url="https://12345.example/evaluate?token=t",
        evaluate_by=T0 + timedelta(days=3),  # 13 November, 02:00 UTC
        citizen_phone="13800138000",
    )
    assert "请于11月13日10:00前评价" in describe(event, zone=load_lists().calendar.zone)["text"]
    urumqi = load_lists(lists_dir).calendar.zone
    assert "请于11月13日08:00前评价" in sms_text(event, url="u", zone=urumqi)


def test_the_evaluation_window_and_link_are_checked():
    def settings(**overrides: str) -> FeedbackSettings:
        return FeedbackSettings.model_validate(
            {"DATABASE_URL": "postgresql://x/y", "KAFKA_BOOTSTRAP_SERVERS": "k:9092",
             "LIANDONG_AUTH_SECRET": AUTH_SECRET, **overrides}
        )  # fmt: skip

    assert settings().evaluation_window == "3 working_days"
    with pytest.raises(ValueError, match="time limit"):
        settings(evaluation_window="3 days")
    with pytest.raises(ValueError, match="token"):
        settings(evaluation_url="https://x/evaluate")
