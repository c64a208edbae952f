"""Every service as its own process: a demand goes in over HTTP, the task comes out on the
department's topic, the department signs and replies, the citizen evaluates, the demand closes."""

import json
import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from services.intake.models import Demand
from services.runtime.auth import Role, issue_token
from services.runtime.db import create_session_factory
from services.runtime.migrations import SERVICES
from tests.conftest import AUTH_SECRET
from tests.kafka_helpers import district_task_topics, eventually, header, read_records

CHANNEL = {
    "Authorization": "Bearer "
    + issue_token(AUTH_SECRET, sub="channel:hotline", role=Role.channel, now=datetime.now(UTC))
}
NOISE_DEPT = "330502000000.urban_management"
POLICE_DEPT = "330502000000.public_security"
DEMAND = {
    "channel": "hotline",
    "content": "月河社区楼下烧烤店每晚噪音扰民到凌晨两点，多次反映未解决",
    "location": {"unit_code": "330502001016"},
    "citizen": {"name": "张三", "phone": "13812345678"},
}


def _token(department_id):
    return issue_token(
        AUTH_SECRET,
        sub=f"clerk@{department_id}",
        role=Role.department,
        department_id=department_id,
        now=datetime.now(UTC),
    )


async def _until_status(client, url, status):
    async def check():
        response = await client.get(url)
        return (
            response.json()
            if response.status_code == 200 and response.json()["status"] == status
            else None
        )

    return await eventually(check, timeout_s=30)


async def _posted_until(client, urls, body, status):
    """Post a demand as the hotline, then follow it until it reaches the status."""
    response = await client.post(f"{urls['intake']}/v1/demands", json=body, headers=CHANNEL)
    accepted = response.json()
    track = (
        f"{urls['intake']}/v1/demands/{accepted['demand_id']}?token={accepted['tracking_token']}"
    )
    return await _until_status(client, track, status)


async def test_demand_becomes_an_assigned_task_and_closes_after_evaluation(system, infra):
    urls, log_dir = system
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"{urls['intake']}/v1/demands", json=DEMAND, headers=CHANNEL)
        assert response.status_code == 201, response.text
        accepted = response.json()
        demand_id, token = accepted["demand_id"], accepted["tracking_token"]
        track = f"{urls['intake']}/v1/demands/{demand_id}?token={token}"

        # The district's department topics carry the two tasks, each on its department's own
        # topic: the lead (综合行政执法局) and the co-handler (公安吴兴分局).
        assigned = await read_records(
            infra.kafka_bootstrap_servers,
            district_task_topics(),
            lambda r: (
                header(r, "ce_demandid") == demand_id
                and header(r, "ce_type") == "cn.liandong.task.assigned.v1"
            ),
            count=2,
        )
        by_department = {header(r, "ce_departmentid"): r for r in assigned}
        assert set(by_department) == {NOISE_DEPT, POLICE_DEPT}
        record = by_department[NOISE_DEPT]
        co_task = json.loads(by_department[POLICE_DEPT].value)
        assert co_task["role"] == "co_handler"
        assert json.loads(record.value)["role"] == "lead"
        assert header(record, "ce_unitcode") == "330502000000"
        task = json.loads(record.value)
        assert task["matter_code"] == "ENV-NOISE-LIFE"
        assert task["rule"] == "power:ENV-NOISE-LIFE@district->urban_management"
        assert task["lists_version"].startswith("huzhou-")
        assert "13812345678" not in record.value.decode()
        assert "张三" not in record.value.decode()
        task_id = task["task_id"]

        view = await _until_status(client, track, "assigned")
        assert view["department_name"] == "吴兴区综合行政执法局"
        # In the citizen's words: the Open311 label, the reply deadline, a note on every step.
        assert view["status_text"] == "已派单"
        assert view["expected_reply_at"] is not None
        assert datetime.fromisoformat(view["expected_reply_at"]) > datetime.now(UTC)
        assert [(s["status"], s["status_text"]) for s in view["timeline"]] == [
            ("received", "已受理"),
            ("assigned", "已派单"),
        ]
        assert view["timeline"][0]["note"] == "您的诉求已受理，正在确定承办部门。"
        assert view["timeline"][1]["note"] == "您的诉求已派至吴兴区综合行政执法局办理。"

        routing = f"{urls['routing']}/v1/tasks/{task_id}"
        lead = {"Authorization": f"Bearer {_token(NOISE_DEPT)}"}
        other = {"Authorization": f"Bearer {_token('330502000000.housing_construction')}"}

        assert (await client.get(routing, headers=other)).status_code == 404
        assert (await client.get(routing)).status_code == 401
        mine = await client.get(f"{urls['routing']}/v1/tasks", headers=lead)
        assert task_id in [t["task_id"] for t in mine.json()]
        detail = (await client.get(routing, headers=lead)).json()
        assert detail["citizen"] == {"name": "张三", "phone": "13812345678"}  # the lead only
        assert detail["sign_due_at"] <= detail["first_contact_due_at"] <= detail["reply_due_at"]
        police = {"Authorization": f"Bearer {_token(POLICE_DEPT)}"}
        co_url = f"{urls['routing']}/v1/tasks/{co_task['task_id']}"
        co_detail = (await client.get(co_url, headers=police)).json()
        assert co_detail["role"] == "co_handler"
        assert co_detail["citizen"] is None  # the data list: no contact for a co-handler
        assert (await client.get(routing, headers=police)).status_code == 404

        early = await client.post(
            f"{routing}/reply", headers=lead, json={"result": "resolved", "reply_text": "已处理"}
        )
        assert early.status_code == 409
        assert "sign the task before replying" in early.json()["detail"]

        assert (await client.post(f"{routing}/sign", headers=other)).status_code == 404
        signed = await client.post(f"{routing}/sign", headers=lead)
        assert signed.status_code == 200
        assert signed.json()["state"] == "signed"
        stale = await client.post(f"{routing}/contact", headers={**lead, "If-Match": "1"})
        assert stale.status_code == 409  # another clerk moved it to version 2 meanwhile
        assert "changed since version 1" in stale.json()["detail"]
        no_contact = await client.post(
            f"{routing}/reply", headers=lead, json={"result": "resolved", "reply_text": "已处理"}
        )
        assert no_contact.status_code == 409
        assert "contact the citizen" in no_contact.json()["detail"]
        contacted = await client.post(f"{routing}/contact", headers={**lead, "If-Match": "2"})
        assert contacted.json()["state"] == "contacted"
        assert (await client.post(f"{co_url}/sign", headers=police)).json()["state"] == "signed"
        co_reply = await client.post(
            f"{co_url}/reply",
            headers=police,
            json={"result": "explained", "reply_text": "已配合夜查"},
        )
        assert co_reply.json()["state"] == "replied"
        reply_text = "已责令烧烤店22点后停止营业并安装隔音设施，执法队员将夜间回查。"
        replied = await client.post(
            f"{routing}/reply", headers=lead, json={"result": "resolved", "reply_text": reply_text}
        )
        assert replied.status_code == 200
        assert replied.json()["state"] == "replied"

        evaluation_url = f"{urls['feedback']}/v1/demands/{demand_id}/evaluation"
        assert (
            await client.post(
                f"{evaluation_url}?token=wrong-token-123",
                json={"resolved": True, "satisfaction": "satisfied"},
            )
        ).status_code == 404

        async def evaluate():
            response = await client.post(
                f"{evaluation_url}?token={token}",
                json={"resolved": True, "satisfaction": "satisfied", "comment": "很快"},
            )
            return response if response.status_code == 201 else None

        await eventually(evaluate, timeout_s=30)
        again = await client.post(
            f"{evaluation_url}?token={token}", json={"resolved": True, "satisfaction": "satisfied"}
        )
        assert again.status_code == 409

        closed = await _until_status(client, track, "closed")
        assert [step["status"] for step in closed["timeline"]] == [
            "received",
            "assigned",
            "signed",
            "replied",
            "closed",
        ]
        assert closed["timeline"][3]["note"] == reply_text
        assert "citizen" not in closed
        assert "13812345678" not in json.dumps(closed)

    for name in SERVICES:
        log = (log_dir / f"{name}.log").read_text(encoding="utf-8")
        assert "13812345678" not in log, f"{name} logged a phone number"
        assert "张三" not in log, f"{name} logged a citizen name"
        assert token not in log, f"{name} logged a tracking token"


async def test_text_without_a_known_matter_goes_to_triage(system):
    urls, _ = system
    async with httpx.AsyncClient(timeout=10) as client:
        body = DEMAND | {"content": "我想表扬一下你们的工作人员态度很好"}
        view = await _posted_until(client, urls, body, "triage")
    assert view["timeline"][-1]["note"]


async def test_the_matter_an_operator_chose_routes_a_text_without_keywords(system):
    urls, _ = system
    async with httpx.AsyncClient(timeout=10) as client:
        body = DEMAND | {
            "content": "晚上十一点以后楼上还在装修敲墙，吵得孩子睡不着",  # no catalogue keyword
            "matter_code": "ENV-NOISE-LIFE",
        }
        view = await _posted_until(client, urls, body, "assigned")
        unknown = await client.post(
            f"{urls['intake']}/v1/demands", json=body | {"matter_code": "NOPE"}, headers=CHANNEL
        )
    assert view["department_name"] == "吴兴区综合行政执法局"
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "matter_code"
    assert "NOPE" in unknown.json()["errors"][0]["reason"]


async def test_address_text_is_located_to_its_community(system, infra):
    urls, _ = system
    async with httpx.AsyncClient(timeout=10) as client:
        body = {
            "channel": "app",
            "content": "小区门口垃圾桶满了好几天没人清运",
            "location": {"address": "吴兴区朝阳街道车站社区3幢"},
        }
        view = await _posted_until(client, urls, body, "assigned")
    assert view["department_name"] == "朝阳街道办事处"


async def test_invalid_demand_names_each_field(system):
    urls, _ = system
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{urls['intake']}/v1/demands",
            json={
                "channel": "fax",
                "content": "短",
                "location": {"unit_code": "3305"},
                "citizen": {"phone": "abc"},
            },
            headers=CHANNEL,
        )
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert {
        "body.channel",
        "body.content",
        "body.location.unit_code",
        "body.citizen.phone",
    } <= fields
    assert all(error["reason"] for error in response.json()["errors"])


async def test_demands_need_a_front_end_credential(system):
    urls, _ = system
    department = {"Authorization": f"Bearer {_token(NOISE_DEPT)}"}
    async with httpx.AsyncClient(timeout=10) as client:
        anonymous = await client.post(f"{urls['intake']}/v1/demands", json=DEMAND)
        wrong_role = await client.post(
            f"{urls['intake']}/v1/demands", json=DEMAND, headers=department
        )
        lists = await client.get(f"{urls['intake']}/v1/matters")
    assert anonymous.status_code == 401
    assert wrong_role.status_code == 403
    assert lists.status_code == 401


async def test_location_is_required_in_some_form(system):
    urls, _ = system
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{urls['intake']}/v1/demands",
            json={"channel": "web", "content": "路灯不亮很久了", "location": {}},
            headers=CHANNEL,
        )
    assert response.status_code == 422
    assert "unit_code, an address, or both lat and lon" in response.text


async def test_oversized_body_is_refused_with_413(system):
    urls, _ = system
    async with httpx.AsyncClient(timeout=10) as client:
        body = DEMAND | {"content": "噪" * 100_000}
        response = await client.post(f"{urls['intake']}/v1/demands", json=body, headers=CHANNEL)
    assert response.status_code == 413


async def test_same_idempotency_key_gives_the_same_demand_once(system, engine):
    urls, _ = system
    key = f"hotline-call-{uuid.uuid4()}"
    async with httpx.AsyncClient(timeout=10) as client:
        first = await client.post(
            f"{urls['intake']}/v1/demands", json=DEMAND, headers={**CHANNEL, "Idempotency-Key": key}
        )
        second = await client.post(
            f"{urls['intake']}/v1/demands", json=DEMAND, headers={**CHANNEL, "Idempotency-Key": key}
        )
        changed = await client.post(
            f"{urls['intake']}/v1/demands",
            json=DEMAND | {"content": "另一件事情：路面破损"},
            headers={**CHANNEL, "Idempotency-Key": key},
        )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["demand_id"] == second.json()["demand_id"]
    assert first.json()["tracking_token"] == second.json()["tracking_token"]
    assert changed.status_code == 409
    async with create_session_factory(engine)() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Demand).where(Demand.idempotency_key == key)
        )
    assert stored == 1


async def test_an_idempotency_key_belongs_to_its_submitter(services, engine):
    """Another front end reusing a key (a predictable one, as in the README) neither is refused
    nor receives the first submitter's demand and tracking token: each has its own demand."""
    urls = services.urls
    key = f"call-20261126-0001-{uuid.uuid4()}"
    app = {
        "Authorization": "Bearer "
        + issue_token(AUTH_SECRET, sub="channel:app-wx", role=Role.channel, now=datetime.now(UTC))
    }
    other_body = DEMAND | {"content": "另一件事情：路面破损严重，电动车摔倒"}
    async with httpx.AsyncClient(timeout=10, base_url=urls["intake"]) as client:
        hotline = await client.post(
            "/v1/demands", json=DEMAND, headers={**CHANNEL, "Idempotency-Key": key}
        )
        same_body = await client.post(
            "/v1/demands", json=DEMAND, headers={**app, "Idempotency-Key": key}
        )
        open311 = await client.post(
            "/open311/v2/requests.json",
            data={
                "service_code": "ENV-NOISE-LIFE",
                "address_id": "330502001016",
                "description": other_body["content"],
            },
            headers={"X-API-Key": services.app_key, "Idempotency-Key": key},
        )
        again = await client.post(
            "/v1/demands", json=DEMAND, headers={**CHANNEL, "Idempotency-Key": key}
        )
        app_again = await client.post(
            "/v1/demands", json=other_body, headers={**app, "Idempotency-Key": key}
        )
    assert hotline.status_code == 201, hotline.text
    assert same_body.status_code == 201, same_body.text
    assert open311.status_code == 201, open311.text
    ids = {
        hotline.json()["demand_id"],
        same_body.json()["demand_id"],
        open311.json()[0]["service_request_id"],
    }
    assert len(ids) == 3
    assert hotline.json()["tracking_token"] != same_body.json()["tracking_token"]
    # The same submitter repeating gets its own demand back; with another body, 409.
    assert again.status_code == 200
    assert again.json()["demand_id"] == hotline.json()["demand_id"]
    assert again.json()["tracking_token"] == hotline.json()["tracking_token"]
    assert app_again.status_code == 409
    async with create_session_factory(engine)() as session:
        stored = await session.scalars(
            select(Demand.submitted_by).where(Demand.idempotency_key == key)
        )
        submitters = sorted(s or "" for s in stored.all())
    assert submitters == ["app-open311", "channel:app-wx", "channel:hotline"]


async def test_wrong_tracking_token_reveals_nothing(system):
    urls, _ = system
    async with httpx.AsyncClient(timeout=10) as client:
        accepted = (
            await client.post(f"{urls['intake']}/v1/demands", json=DEMAND, headers=CHANNEL)
        ).json()
        wrong = await client.get(
            f"{urls['intake']}/v1/demands/{accepted['demand_id']}?token=not-the-right-one"
        )
        unknown = await client.get(
            f"{urls['intake']}/v1/demands/{uuid.uuid4()}?token=not-the-right-one"
        )
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()


async def test_every_service_documents_its_api(system):
    urls, _ = system
    async with httpx.AsyncClient(timeout=10) as client:
        for name, url in urls.items():
            spec = (await client.get(f"{url}/openapi.json")).json()
            assert "/health/ready" in spec["paths"], name


async def test_front_ends_read_the_lists(system):
    urls, _ = system
    async with httpx.AsyncClient(timeout=10, base_url=urls["intake"], headers=CHANNEL) as client:
        found = (await client.get("/v1/units", params={"q": "车站社区"})).json()
        assert "330502002009" in [u["code"] for u in found]
        unit = (await client.get("/v1/units/330502002009")).json()
        assert [u["name"] for u in unit["chain"]] == [
            "车站社区居委会",
            "朝阳街道",
            "吴兴区",
            "湖州市",
        ]
        children = (await client.get("/v1/units/330502000000/children")).json()
        assert len(children) == 19
        departments = (await client.get("/v1/departments", params={"unit": "330502000000"})).json()
        assert "吴兴区综合行政执法局" in [d["name"] for d in departments]
        matter = (await client.get("/v1/matters/ENV-NOISE-LIFE")).json()
        assert matter["limits"]["normal"]["sign"] == "2 working_hours"
        assert matter["legal_basis"]
        assert len((await client.get("/v1/matters")).json()) >= 80
        assert (await client.get("/v1/units/330599000000")).status_code == 404


async def test_low_confidence_demand_is_triaged_classified_by_an_operator_and_reaches_a_department(
    system, infra, engine
):
    from services.classification.models import LabelledExample

    urls, _ = system
    operator = {
        "Authorization": "Bearer "
        + issue_token(AUTH_SECRET, sub="operator:0042", role=Role.operator, now=datetime.now(UTC))
    }
    async with httpx.AsyncClient(timeout=10) as client:
        # says nothing of what or who: no matter and no department type is sure of it
        body = DEMAND | {"content": "这个问题拖了很久了，希望有人管管"}
        accepted = (
            await client.post(f"{urls['intake']}/v1/demands", json=body, headers=CHANNEL)
        ).json()
        demand_id = accepted["demand_id"]
        track = f"{urls['intake']}/v1/demands/{demand_id}?token={accepted['tracking_token']}"
        await _until_status(client, track, "triage")

        queue = f"{urls['classification']}/v1/triage"
        assert (await client.get(queue)).status_code == 401
        lead_token = {"Authorization": f"Bearer {_token(NOISE_DEPT)}"}
        assert (await client.get(queue, headers=lead_token)).status_code == 403
        pending = (await client.get(queue, headers=operator)).json()
        [item] = [i for i in pending if i["demand_id"] == demand_id]
        assert item["reason"]
        assert "citizen_phone" not in item

        wrong = await client.post(
            f"{queue}/{demand_id}/classify",
            headers=operator,
            json={"matter_code": "NOPE", "unit_code": "330502001016"},
        )
        assert wrong.status_code == 422
        decided = await client.post(
            f"{queue}/{demand_id}/classify",
            headers=operator,
            json={"matter_code": "ENV-NOISE-LIFE", "unit_code": "330502001016"},
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["decided_by"] == "operator:0042"
        again = await client.post(
            f"{queue}/{demand_id}/classify",
            headers=operator,
            json={"matter_code": "ENV-NOISE-LIFE", "unit_code": "330502001016"},
        )
        assert again.status_code == 409

        [record] = await read_records(
            infra.kafka_bootstrap_servers,
            district_task_topics(),
            lambda r: (
                header(r, "ce_demandid") == demand_id and header(r, "ce_departmentid") == NOISE_DEPT
            ),
        )
        view = await _until_status(client, track, "assigned")
        assert view["department_name"] == "吴兴区综合行政执法局"
        lead = await client.get(
            f"{urls['routing']}/v1/tasks/{json.loads(record.value)['task_id']}", headers=lead_token
        )
        assert lead.json()["citizen"]["phone"] == "13812345678"  # the contact survived triage

    async with create_session_factory(engine)() as session:
        example = await session.scalar(
            select(LabelledExample).where(LabelledExample.demand_id == uuid.UUID(demand_id))
        )
    assert example is not None
    assert (example.matter_code, example.category, example.decided_by) == (
        "ENV-NOISE-LIFE",
        "环境保护",
        "operator:0042",
    )
