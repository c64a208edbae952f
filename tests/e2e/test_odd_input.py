"""Odd input gets a 4xx naming the field, never a 500: a lone UTF-16 surrogate (which Python's
JSON parser lets through and no serialiser can write), a NUL character (which PostgreSQL cannot
store), a unit code with a trailing newline or full-width digits, a month whose year has no
calendar, a paging offset past int64. Sent over HTTP to every service as its own process."""

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from services.runtime.auth import Role, issue_token, tracking_token
from tests.conftest import AUTH_SECRET

NOW = datetime.now(UTC)
LONE = "\ud800"  # a lone surrogate: json.dumps writes it as the escape \ud800
NUL = "\x00"
CODE = "330502001016"
FULL_WIDTH = "３３０５０２００１０１６"  # full-width digits
SOME_ID = str(uuid.uuid4())


def _bearer(role, **claims):
    sub = claims.pop("sub", f"{role.value}-odd-input")
    token = issue_token(AUTH_SECRET, sub=sub, role=role, now=NOW, **claims)
    return {"Authorization": f"Bearer {token}"}


CHANNEL = _bearer(Role.channel)
DEPARTMENT = _bearer(Role.department, department_id="330502000000.urban_management")
CITY = _bearer(Role.coordinator, unit_code="330500000000")
OPERATOR = _bearer(Role.operator)

DEMAND = {
    "channel": "app",
    "content": "小区楼下烧烤店每晚噪音扰民到凌晨两点",
    "location": {"unit_code": CODE},
    "citizen": {"name": "张三", "phone": "13812345678"},
}


def _demand(**changes):
    body = json.loads(json.dumps(DEMAND))
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = body
        for parent in parents:
            target = target[parent]
        target[last] = value
    return body


TASK = f"/v1/tasks/{SOME_ID}"
EVALUATION = f"/v1/demands/{SOME_ID}/evaluation?token={tracking_token(AUTH_SECRET, SOME_ID)}"
GOOD_EVALUATION = {"resolved": True, "satisfaction": "satisfied"}

# (id, service, method, path, headers, JSON body or None, the field the answer must name)
CASES = [
    ("content-surrogate", "intake", "POST", "/v1/demands", CHANNEL,
     _demand(content="噪音扰民abcde" + LONE), "body.content"),
    ("content-nul", "intake", "POST", "/v1/demands", CHANNEL,
     _demand(content="噪音扰民abcde" + NUL), "body.content"),
    ("address-nul", "intake", "POST", "/v1/demands", CHANNEL,
     _demand(location={"address": "吴兴区月河街道" + NUL}), "body.location.address"),
    ("name-surrogate", "intake", "POST", "/v1/demands", CHANNEL,
     _demand(citizen__name="张" + LONE), "body.citizen.name"),
    ("matter-nul", "intake", "POST", "/v1/demands", CHANNEL,
     _demand(matter_code="ENV" + NUL), "body.matter_code"),
    ("unit-code-newline", "intake", "POST", "/v1/demands", CHANNEL,
     _demand(location__unit_code=CODE + "\n"), "body.location.unit_code"),
    ("unit-code-full-width", "intake", "POST", "/v1/demands", CHANNEL,
     _demand(location__unit_code=FULL_WIDTH), "body.location.unit_code"),
    ("departments-unit-nul", "intake", "GET", "/v1/departments?unit=3305%00", CHANNEL,
     None, "query.unit"),
    ("matters-q-nul", "intake", "GET", "/v1/matters?q=%00", CHANNEL, None, "query.q"),
    ("reply-surrogate", "routing", "POST", f"{TASK}/reply", DEPARTMENT,
     {"result": "resolved", "reply_text": "已处理" + LONE}, "body.reply_text"),
    ("reply-nul", "routing", "POST", f"{TASK}/reply", DEPARTMENT,
     {"result": "resolved", "reply_text": "已处理" + NUL}, "body.reply_text"),
    ("legal-basis-nul", "routing", "POST", f"{TASK}/return", DEPARTMENT,
     {"reason_code": "not_our_duty", "legal_basis": "依职责清单" + NUL}, "body.legal_basis"),
    ("extension-reason-surrogate", "routing", "POST", f"{TASK}/request-extension", DEPARTMENT,
     {"requested": "5 working_days", "reason": "需要现场勘查" + LONE}, "body.reason"),
    ("extension-full-width-amount", "routing", "POST", f"{TASK}/request-extension", DEPARTMENT,
     {"requested": "５ working_days", "reason": "需要现场勘查"}, "body.requested"),
    ("tasks-offset-past-int64", "routing", "GET", "/v1/tasks?offset=100000000000000000000",
     DEPARTMENT, None, "query.offset"),
    ("reassign-reason-nul", "routing", "POST", f"{TASK}/reassign", CITY,
     {"department_id": "330502000000.market_regulation", "reason": "改派" + NUL * 4},
     "body.reason"),
    ("reassign-department-surrogate", "routing", "POST", f"{TASK}/reassign", CITY,
     {"department_id": "330502000000" + LONE, "reason": "改派原因"}, "body.department_id"),
    ("summons-note-surrogate", "routing", "POST", f"{TASK}/summons", CITY,
     {"department_ids": ["330502000000.market_regulation"], "note": "现场" + LONE},
     "body.note"),
    ("ruling-nul", "routing", "POST", f"/v1/disputes/{SOME_ID}/ruling", CITY,
     {"lead_department_id": "330502000000.urban_management" + NUL}, "body.lead_department_id"),
    ("decision-note-nul", "routing", "POST", f"/v1/extensions/{SOME_ID}/decision", CITY,
     {"approve": False, "note": "不同意" + NUL}, "body.note"),
    ("disputes-state-nul", "routing", "GET", "/v1/disputes?state=open%00", CITY, None,
     "query.state"),
    ("extensions-state-nul", "routing", "GET", "/v1/extensions?state=%00", CITY, None,
     "query.state"),
    ("escalations-unit-full-width", "routing", "GET", f"/v1/escalations?unit={FULL_WIDTH}",
     CITY, None, "query.unit"),
    ("escalations-unit-newline", "routing", "GET", "/v1/escalations?unit=330500000000%0A",
     CITY, None, "query.unit"),
    ("triage-unit-code-newline", "classification", "POST", f"/v1/triage/{SOME_ID}/classify",
     OPERATOR, {"matter_code": "ENV-NOISE-LIFE", "unit_code": CODE + "\n"}, "body.unit_code"),
    ("evaluation-comment-surrogate", "feedback", "POST", EVALUATION, None,
     GOOD_EVALUATION | {"comment": "很好" + LONE}, "body.comment"),
    ("evaluation-comment-nul", "feedback", "POST", f"/v1/callbacks/{SOME_ID}/evaluation",
     OPERATOR, GOOD_EVALUATION | {"comment": "很好" + NUL}, "body.comment"),
    ("hotspots-year-0000", "feedback", "GET", "/v1/hotspots?month=0000-05", CITY, None,
     "query.month"),
    ("hotspots-year-9999", "feedback", "GET", "/v1/hotspots?month=9999-12", CITY, None,
     "query.month"),
    ("rankings-year-0001", "feedback", "GET", "/v1/rankings?month=0001-01", CITY, None,
     "query.month"),
    ("rankings-full-width-year", "feedback", "GET", "/v1/rankings?month=２０２６-11", CITY,
     None, "query.month"),
    ("rankings-unit-newline", "feedback", "GET", "/v1/rankings?unit=330500000000%0A", CITY,
     None, "query.unit"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("service", "method", "path", "headers", "body", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
async def test_odd_input_is_refused_naming_the_field(
    system, service, method, path, headers, body, field
):
    urls, _ = system
    content = None if body is None else json.dumps(body).encode()
    async with httpx.AsyncClient(timeout=10, base_url=urls[service]) as client:
        response = await client.request(
            method,
            path,
            content=content,
            headers={**(headers or {}), "content-type": "application/json"},
        )
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert field in [e["field"] for e in errors], errors
    assert all(e["reason"] for e in errors)


OPEN311_DEMAND = {
    "service_code": "ENV-NOISE-LIFE",
    "address_id": CODE,
    "description": "小区楼下烧烤店每晚噪音扰民到凌晨两点",
}

# (id, form fields changed, query string, the field the answer must name)
OPEN311_CASES = [
    ("description-nul", {"description": "噪音扰民到凌晨" + NUL}, "description"),
    ("address-string-nul", {"address_string": "月河街道" + NUL}, "address_string"),
    ("first-name-nul", {"first_name": "三" + NUL}, "first_name"),
    ("service-code-nul", {"service_code": "ENV" + NUL}, "service_code"),
]


@pytest.mark.parametrize(
    ("changes", "field"), [pytest.param(*case[1:], id=case[0]) for case in OPEN311_CASES]
)
async def test_odd_open311_form_fields_are_refused_naming_the_field(services, changes, field):
    async with httpx.AsyncClient(timeout=10, base_url=services.urls["intake"]) as client:
        response = await client.post(
            "/open311/v2/requests.json",
            data=OPEN311_DEMAND | changes,
            headers={"X-API-Key": services.app_key},
        )
    assert response.status_code == 400, response.text
    [error] = response.json()
    assert error["description"].startswith(f"{field}:"), error


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("service_code=ENV%00", "service_code", id="service-code-nul"),
        pytest.param("status=open%00", "status", id="status-nul"),
        pytest.param("jurisdiction_id=3305%00", "jurisdiction_id", id="jurisdiction-nul"),
    ],
)
async def test_odd_open311_query_parameters_are_refused_naming_the_field(services, query, field):
    async with httpx.AsyncClient(timeout=10, base_url=services.urls["intake"]) as client:
        response = await client.get(
            f"/open311/v2/requests.xml?{query}", headers={"X-API-Key": services.app_key}
        )
    assert response.status_code == 400, response.text
    assert f"<description>{field}:" in response.text
