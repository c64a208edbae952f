"""Rules a review found unguarded: jurisdictions by level, what a coordinator sees, outages."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request

from contracts.lists import load_lists
from services.routing.models import Task
from services.routing.repository import jurisdiction_prefix
from services.routing.schemas import TaskView
from services.routing.service import within_jurisdiction
from services.routing.watch import header_text
from services.runtime.auth import tracking_token, tracking_token_matches
from services.runtime.http import _outage
from services.runtime.kafka import is_outage

NOW = datetime(2026, 11, 26, 2, tzinfo=UTC)


def test_a_street_coordinator_sees_only_its_street_not_its_numeric_neighbours():
    assert jurisdiction_prefix("330502010000") == "330502010"  # 龙溪街道
    assert not "330502011000".startswith(jurisdiction_prefix("330502010000"))  # 杨家埠街道
    assert not "330502101000".startswith(jurisdiction_prefix("330502100000"))  # 八里店镇 vs 织里镇
    assert "330502100011".startswith(jurisdiction_prefix("330502100000"))
    assert jurisdiction_prefix("330500000000") == "3305"
    assert within_jurisdiction("330502000000", "330502100011")
    assert not within_jurisdiction("330502010000", "330502011000")


def _lead_task(state="assigned", role="lead", content="噪音", reply_text=None):
    return Task(
        id=uuid.uuid4(), demand_id=uuid.uuid4(), role=role, department_id="d", department_name="部门",
        unit_code="330502000000", demand_unit_code="330502001016", matter_code="ENV-NOISE-LIFE",
        demand_type="complaint", urgency="normal", content=content, address=None, citizen_name="张三",
        citizen_phone="13812345678", state=state, version=1, sign_due_at=NOW, first_contact_due_at=NOW,
        reply_due_at=NOW, deadlines_provisional=False, reply_result=None, reply_text=reply_text,
        lists_version="v", rule="r", final=False, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def test_a_coordinator_never_sees_the_citizen_on_a_lead_task():
    data_list = load_lists().data_list
    assert TaskView.of(_lead_task(), data_list).citizen is not None
    assert TaskView.of(_lead_task(), data_list, as_role="coordinator").citizen is None


def test_a_department_whose_task_was_returned_no_longer_sees_the_citizen():
    data_list = load_lists().data_list
    for state in ("returned", "superseded"):
        assert TaskView.of(_lead_task(state), data_list).citizen is None


def test_numbers_in_the_free_text_are_shown_only_to_whoever_may_see_the_citizen():
    data_list = load_lists().data_list
    content = "楼下烧烤噪音扰民，请回电13812345678，身份证330502199001011234"
    reply = "已联系13812345678的诉求人"

    def seen(task, **role):
        view = TaskView.of(task, data_list, **role)
        return f"{view.content} {view.reply_text}"

    lead = _lead_task(content=content, reply_text=reply)
    assert "13812345678" in seen(lead)
    assert "330502199001011234" in seen(lead)
    for task, role in (
        (lead, {"as_role": "coordinator"}),
        (_lead_task(role="co_handler", content=content, reply_text=reply), {}),
        (_lead_task("returned", content=content, reply_text=reply), {}),
    ):
        text = seen(task, **role)
        assert "13812345678" not in text, role
        assert "330502199001011234" not in text, role
        assert "138****5678" in text
        assert "楼下烧烤噪音扰民" in text


class _Orig(Exception):
    def __init__(self, sqlstate):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "outage"),
    [
        ("57P03", True),
        ("57P01", True),
        ("53300", True),
        ("08006", True),
        ("40P01", True),
        ("23505", False),
        ("22P02", False),
    ],
)
def test_database_restarts_and_overload_are_outages_not_the_records_fault(sqlstate, outage):
    assert is_outage(DBAPIError("stmt", {}, _Orig(sqlstate))) is outage


def test_a_tracking_token_in_any_script_is_just_wrong():
    assert tracking_token_matches("s" * 32, "d", "令牌令牌令牌令牌") is False
    assert tracking_token_matches("s" * 32, "d", tracking_token("s" * 32, "d")) is True


def test_the_escalation_watch_reads_a_header_without_value_as_empty():
    headers = [("traceparent", None), ("ce_unitcode", b"330502010000"), ("bad", b"\xff")]
    assert header_text(headers, "ce_unitcode") == "330502010000"
    assert header_text(headers, "traceparent") == ""
    assert header_text(headers, "missing") == ""
    assert header_text(headers, "bad") == "\ufffd"


@pytest.mark.parametrize(
    ("sqlstate", "detail", "retry_after"),
    [
        ("40P01", "collided", "1"),  # a deadlock: contention, not an outage
        ("40001", "collided", "1"),
        ("57P03", "unavailable", "5"),  # the database is starting up
    ],
)
async def test_an_api_request_refused_by_the_database_answers_503_saying_why(
    sqlstate, detail, retry_after
):
    request = Request({"type": "http", "method": "POST", "path": "/v1/tasks", "headers": []})
    error = DBAPIError("UPDATE routing.tasks ...", {}, _Orig(sqlstate))
    response = await _outage(request, error)
    assert response.status_code == 503
    assert detail in bytes(response.body).decode()
    assert response.headers["Retry-After"] == retry_after
