"""The knowledge base on a real database: a department keeps its own entries (another's are
not found), search finds entries by the Chinese words they share with a text, an entry outside
its validity is not offered (nor can it answer a consultation), and the seeded entries derived
from real replies are there."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from contracts.events import Channel, Citizen, DemandReceived, DemandType, Location
from contracts.lists import load_lists
from services.classification.app import create_app
from services.classification.handlers import make_batch_handlers
from services.classification.models import tables
from services.classification.settings import ClassificationSettings
from services.runtime.auth import Role, issue_token
from services.runtime.clock import FixedClock
from services.runtime.db import create_session_factory
from services.runtime.kafka import BatchDelivery
from services.runtime.outbox import Outbox
from tests.conftest import AUTH_SECRET

T0 = datetime(2026, 12, 8, 9, tzinfo=UTC)  # after the seeds' validity began
HOUSING = "330502000000.housing_construction"
POLICE = "330502000000.public_security"


def _bearer(clock, role, **claims):
    token = issue_token(AUTH_SECRET, sub=f"{role.value}-kb", role=role, now=clock.now(), **claims)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def kb(infra, engine, classifier):
    settings = ClassificationSettings.model_validate(
        {
            "DATABASE_URL": infra.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
            "LIANDONG_AUTH_SECRET": AUTH_SECRET,
        }
    )
    clock = FixedClock(T0)
    app = create_app(settings, clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://classification"
    ) as client:
        yield client, clock, engine, classifier
    await app.state.runtime.engine.dispose()


async def test_a_department_keeps_only_its_own_entries(kb):
    client, clock, _, _ = kb
    housing = _bearer(clock, Role.department, department_id=HOUSING)
    police = _bearer(clock, Role.department, department_id=POLICE)
    entry = {
        "question": "老旧小区加装电梯怎么申请补助？",
        "answer": "由业主委员会向街道提交加装电梯申请，验收合格后按每台20万元申请补助。",
        "matters": ["HOUSING-OLD-RENOVATION"],
    }
    created = await client.post("/v1/knowledge", json=entry, headers=housing)
    assert created.status_code == 201, created.text
    entry_id = created.json()["id"]
    assert created.json()["department_id"] == HOUSING

    changed = {**entry, "answer": "由业主向街道提交申请，验收合格后每台补助20万元。"}
    refused = await client.put(f"/v1/knowledge/{entry_id}", json=changed, headers=police)
    assert refused.status_code == 404, refused.text
    assert (await client.delete(f"/v1/knowledge/{entry_id}", headers=police)).status_code == 404
    ours = await client.put(f"/v1/knowledge/{entry_id}", json=changed, headers=housing)
    assert ours.status_code == 200, ours.text
    assert ours.json()["answer"] == changed["answer"]
    listed = await client.get("/v1/knowledge", headers=police)
    assert entry_id not in [e["id"] for e in listed.json()]

    bad = await client.post("/v1/knowledge", json={**entry, "matters": ["NOPE"]}, headers=housing)
    assert bad.status_code == 422
    assert "matters" in bad.text
    backwards = {**entry, "valid_from": "2026-12-09T00:00:00+08:00"}
    backwards["valid_to"] = "2026-12-01T00:00:00+08:00"
    refused_dates = await client.post("/v1/knowledge", json=backwards, headers=housing)
    assert refused_dates.status_code == 422
    assert "valid_to" in refused_dates.text

    operator = _bearer(clock, Role.operator)
    assert (await client.post("/v1/knowledge", json=entry, headers=operator)).status_code == 403


async def test_search_finds_by_shared_words_and_never_offers_a_stale_entry(kb):
    client, clock, _, _ = kb
    housing = _bearer(clock, Role.department, department_id=HOUSING)
    operator = _bearer(clock, Role.operator)
    marker = uuid.uuid4().hex[:6]  # a word only these entries carry
    entry = {
        "question": f"电动自行车{marker}上牌需要什么材料？",
        "answer": f"携带身份证、购车发票和合格证到车管所{marker}窗口办理。",
        "valid_to": (T0 + timedelta(days=30)).isoformat(),
    }
    created = await client.post("/v1/knowledge", json=entry, headers=housing)
    assert created.status_code == 201, created.text
    found = await client.get(
        "/v1/knowledge/search", params={"q": f"请问电动自行车{marker}怎么上牌"}, headers=operator
    )
    assert found.status_code == 200, found.text
    assert found.json()[0]["id"] == created.json()["id"]
    assert found.json()[0]["rank"] > 0

    retired = await client.delete(f"/v1/knowledge/{created.json()['id']}", headers=housing)
    assert retired.status_code == 200, retired.text
    clock.advance(timedelta(seconds=1))
    again = await client.get(
        "/v1/knowledge/search", params={"q": f"电动自行车{marker}上牌"}, headers=operator
    )
    assert created.json()["id"] not in [e["id"] for e in again.json()]


async def test_the_operator_sees_the_seeded_entry_next_to_a_consultation(kb):
    client, clock, engine, classifier = kb
    operator = _bearer(clock, Role.operator)
    event = DemandReceived(
        demand_id=uuid.uuid4(),
        occurred_at=T0,
        channel=Channel.hotline,
        content="请问大学毕业生落户本市需要准备哪些材料？户口怎么迁入？",
        demand_type=DemandType.consult,
        location=Location(address="火星基地七号"),
        citizen=Citizen(name="钱七", phone="13900002222"),
    )
    handler = make_batch_handlers(
        load_lists(), classifier, matter_threshold=0.5, unit_threshold=0.7
    )[DemandReceived]
    sessions = create_session_factory(engine)
    async with sessions() as session, session.begin():
        await handler(BatchDelivery(session, Outbox(tables.outbox, source="/test"), clock), [event])
    shown = await client.get(f"/v1/triage/{event.demand_id}/knowledge", headers=operator)
    assert shown.status_code == 200, shown.text
    top = shown.json()[0]
    assert top["department_id"] == "330500000000.public_security"  # seeded from a real reply
    assert "户口迁移证" in top["answer"]

    # A stale entry cannot answer: the housing bureau's purchase rule, retired, is refused.
    housing = _bearer(clock, Role.department, department_id=HOUSING)
    created = await client.post(
        "/v1/knowledge",
        json={"question": "落户后多久可以买房？", "answer": "落户即可购买一套。"},
        headers=housing,
    )
    assert created.status_code == 201, created.text
    await client.delete(f"/v1/knowledge/{created.json()['id']}", headers=housing)
    clock.advance(timedelta(seconds=1))
    stale = await client.post(
        f"/v1/triage/{event.demand_id}/answer",
        json={"knowledge_entry_id": created.json()["id"]},
        headers=operator,
    )
    assert stale.status_code == 422, stale.text
    assert "knowledge_entry_id" in stale.text

    answered = await client.post(
        f"/v1/triage/{event.demand_id}/answer",
        json={"knowledge_entry_id": top["id"]},
        headers=operator,
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["state"] == "consultation"
