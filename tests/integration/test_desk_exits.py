"""The desk exits of the triage queue on a real database: each proposed where it fits, each
leaving the queue with its audit row and its events in the outbox, refused with 422 where it
does not fit the demand and with 409 once the item is decided."""

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from contracts.events import Channel, Citizen, DemandReceived, DemandType, Location
from contracts.lists import load_lists
from services.classification.app import create_app
from services.classification.handlers import make_batch_handlers
from services.classification.models import Classification, DeskExitRecord, tables
from services.classification.settings import ClassificationSettings
from services.runtime.auth import Role, issue_token
from services.runtime.clock import FixedClock
from services.runtime.db import create_session_factory
from services.runtime.kafka import BatchDelivery
from services.runtime.outbox import Outbox
from tests.conftest import AUTH_SECRET

T0 = datetime(2025, 2, 3, 9, tzinfo=UTC)
NOWHERE = Location(address="火星基地七号")  # names no unit: every demand here goes to triage
THRESHOLDS = {"matter_threshold": 0.5, "unit_threshold": 0.7}
PRAISED_DEPT = "330502000000.urban_management"


@pytest.fixture
async def desk(infra, engine, classifier):
    settings = ClassificationSettings.model_validate(
        {
            "DATABASE_URL": infra.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
            "LIANDONG_AUTH_SECRET": AUTH_SECRET,
        }
    )
    clock = FixedClock(T0)
    app = create_app(settings, clock)  # not started: the HTTP API and the database only
    sessions = create_session_factory(engine)
    handler = make_batch_handlers(load_lists(), classifier, **THRESHOLDS)[DemandReceived]

    async def triaged(content, demand_type=None):
        event = DemandReceived(
            demand_id=uuid.uuid4(),
            occurred_at=T0,
            channel=Channel.hotline,
            content=content,
            demand_type=demand_type,
            location=NOWHERE,
            citizen=Citizen(name="王五", phone="13900001111"),
        )
        async with sessions() as session, session.begin():
            outbox = Outbox(tables.outbox, source="/test")
            await handler(BatchDelivery(session, outbox, clock), [event])
        return str(event.demand_id)

    token = issue_token(AUTH_SECRET, sub="operator:0007", role=Role.operator, now=clock.now())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://classification",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client, triaged, sessions
    await app.state.runtime.engine.dispose()


async def _queued(client, demand_id):
    response = await client.get("/v1/triage", params={"limit": 200})
    assert response.status_code == 200, response.text
    [item] = [i for i in response.json() if i["demand_id"] == demand_id]
    return item


async def _outbox(sessions, demand_id):
    async with sessions() as session:
        rows = await session.execute(
            select(tables.outbox.c.topic, tables.outbox.c.value).order_by(tables.outbox.c.id)
        )
        events = [(topic, json.loads(value)) for topic, value in rows]
    return [(topic, e) for topic, e in events if e["demand_id"] == demand_id]


async def _audit(sessions, demand_id):
    async with sessions() as session:
        return await session.get(DeskExitRecord, uuid.UUID(demand_id))


async def test_praise_is_proposed_passed_on_to_the_department_and_closes_the_contact(desk):
    client, triaged, sessions = desk
    demand_id = await triaged("我想表扬城管局的工作人员，上周帮我们小区清理了堆了半年的垃圾")
    item = await _queued(client, demand_id)
    assert item["suggestions"]["exits"][0] == {"exit": "praise", "cue": "表扬"}

    response = await client.post(
        f"/v1/triage/{demand_id}/praise", json={"department_id": PRAISED_DEPT}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["decided_by"]) == (
        "praise",
        "operator:0007",
    )
    events = await _outbox(sessions, demand_id)
    topics_ = [topic for topic, _ in events]
    assert "tasks.3305.330502" in topics_  # the praised department's own task topic
    [(_, praised)] = [(t, e) for t, e in events if t == "tasks.3305.330502"]
    assert (praised["department_id"], praised["department_name"]) == (
        PRAISED_DEPT,
        load_lists().departments_by_id[PRAISED_DEPT].name,
    )
    assert "13900001111" not in json.dumps(praised, ensure_ascii=False)
    [status] = [e for t, e in events if t == "demand.status" and e["status"] == "closed"]
    assert "表扬已转达" in status["note"]
    audit = await _audit(sessions, demand_id)
    assert (audit.exit, audit.target, audit.decided_by) == ("praise", PRAISED_DEPT, "operator:0007")
    assert await _queued_ids(client) & {demand_id} == set()

    again = await client.post(f"/v1/triage/{demand_id}/close", json={"reason": "spam"})
    assert again.status_code == 409, again.text


async def _queued_ids(client):
    response = await client.get("/v1/triage", params={"limit": 200})
    return {i["demand_id"] for i in response.json()}


async def test_a_consultation_is_answered_at_the_desk_and_closed_as_answered(desk):
    client, triaged, sessions = desk
    demand_id = await triaged("请问外地户口在本市办理居住证需要什么材料？")
    item = await _queued(client, demand_id)
    assert "consultation" in [e["exit"] for e in item["suggestions"]["exits"]]
    answer = "持身份证、租房合同到居住地派出所户籍窗口申领，当场受理。"
    response = await client.post(f"/v1/triage/{demand_id}/answer", json={"answer": answer})
    assert response.status_code == 200, response.text
    events = await _outbox(sessions, demand_id)
    [(_topic, answered)] = [(t, e) for t, e in events if t == "demand.classified" and "answer" in e]
    assert (answered["answer"], answered["citizen"]["phone"]) == (answer, "13900001111")
    [status] = [e for t, e in events if t == "demand.status" and e["status"] == "closed"]
    assert status["note"] == f"直接办结：{answer}"
    assert status["department_name"] == "12345热线"
    assert (await _audit(sessions, demand_id)).note == answer


async def test_an_answer_for_a_demand_filed_as_a_complaint_is_refused(desk):
    client, triaged, sessions = desk
    demand_id = await triaged("隔壁工地夜里施工太吵了", demand_type=DemandType.complaint)
    response = await client.post(f"/v1/triage/{demand_id}/answer", json={"answer": "已知悉"})
    assert response.status_code == 422, response.text
    assert "complaint" in response.text
    assert await _audit(sessions, demand_id) is None
    assert (await _queued(client, demand_id))["state"] == "pending"  # nothing was taken


async def test_spam_closes_with_its_reason_audited(desk):
    client, triaged, sessions = desk
    demand_id = await triaged("测试")
    item = await _queued(client, demand_id)
    assert item["suggestions"]["exits"][0]["exit"] == "invalid"
    bad = await client.post(f"/v1/triage/{demand_id}/close", json={"reason": "boredom"})
    assert bad.status_code == 422
    assert "reason" in bad.text
    response = await client.post(
        f"/v1/triage/{demand_id}/close", json={"reason": "test", "note": "坐席测试来电"}
    )
    assert response.status_code == 200, response.text
    events = await _outbox(sessions, demand_id)
    [(_, closed)] = [(t, e) for t, e in events if t == "demand.triage" and "reason" in e
                     and e.get("operator")]  # fmt: skip
    assert (closed["reason"], closed["note"], closed["operator"]) == (
        "test",
        "坐席测试来电",
        "operator:0007",
    )
    audit = await _audit(sessions, demand_id)
    assert (audit.exit, audit.reason, audit.note) == ("invalid", "test", "坐席测试来电")


async def test_a_repeat_merges_only_into_a_routed_demand(desk):
    client, triaged, sessions = desk
    original = await triaged("小区门口路灯坏了一个月了没人修")
    repeat = await triaged("小区门口路灯还是不亮，之前反映过")
    # The original is still in triage (never routed): nothing to merge into.
    refused = await client.post(f"/v1/triage/{repeat}/merge", json={"into_demand_id": original})
    assert refused.status_code == 422, refused.text
    assert "into_demand_id" in refused.text
    routed = await client.post(
        f"/v1/triage/{original}/classify",
        json={"matter_code": "CITY-STREETLIGHT", "unit_code": "330502001016"},
    )
    assert routed.status_code == 200, routed.text
    merged = await client.post(f"/v1/triage/{repeat}/merge", json={"into_demand_id": original})
    assert merged.status_code == 200, merged.text
    events = await _outbox(sessions, repeat)
    [(topic, event)] = [(t, e) for t, e in events if "into_demand_id" in e]
    assert (topic, event["into_demand_id"]) == ("demand.classified", original)
    async with sessions() as session:
        outcome = await session.get(Classification, uuid.UUID(original))
    assert outcome is not None
    assert outcome.outcome == "classified"


async def test_an_unknown_demand_is_404_and_an_unknown_department_422(desk):
    client, triaged, _ = desk
    missing = await client.post(f"/v1/triage/{uuid.uuid4()}/close", json={"reason": "spam"})
    assert missing.status_code == 404, missing.text
    demand_id = await triaged("感谢信：感谢派出所民警帮我找回了丢失的钱包")
    unknown = await client.post(
        f"/v1/triage/{demand_id}/praise", json={"department_id": "330502000000.nobody"}
    )
    assert unknown.status_code == 422
    assert "department_id" in unknown.text
