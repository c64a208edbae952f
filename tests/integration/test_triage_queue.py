"""The triage queue on a real database: demands the rules cannot place wait with the urgency
the rules give them; operators see critical ones first, then urgent ones, then the rest by
arrival; the oldest wait per urgency is measured for /metrics; an operator's decision continues
the flow as before."""

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from contracts.events import Channel, Citizen, DemandReceived, Location
from contracts.lists import load_lists
from services.classification.app import create_app
from services.classification.backlog import TriageBacklog
from services.classification.category_model import TRAINING_DATA
from services.classification.examples import export_labelled
from services.classification.handlers import make_batch_handlers
from services.classification.models import tables
from services.classification.settings import ClassificationSettings
from services.runtime.auth import Role, issue_token
from services.runtime.clock import FixedClock
from services.runtime.db import create_session_factory
from services.runtime.kafka import BatchDelivery
from services.runtime.outbox import Outbox
from tests.conftest import AUTH_SECRET

# Long before any other test's demands, so these are the oldest of their urgency in the queue.
T0 = datetime(2025, 1, 6, 9, tzinfo=UTC)
NOWHERE = Location(address="火星基地七号")  # names no unit: every demand here goes to triage
THRESHOLDS = {"matter_threshold": 0.5, "unit_threshold": 0.7}


def _received(content):
    return DemandReceived(
        demand_id=uuid.uuid4(),
        occurred_at=T0,
        channel=Channel.hotline,
        content=content,
        demand_type=None,
        location=NOWHERE,
        citizen=Citizen(name="张三", phone="13800000000"),
    )


def _operator(clock):
    token = issue_token(AUTH_SECRET, sub="operator:0042", role=Role.operator, now=clock.now())
    return {"Authorization": f"Bearer {token}"}


def _samples(registry, name):
    text = generate_latest(registry).decode()
    return {
        sample.labels["urgency"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


@pytest.fixture
async def classification(infra):
    settings = ClassificationSettings.model_validate(
        {
            "DATABASE_URL": infra.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
            "LIANDONG_AUTH_SECRET": AUTH_SECRET,
        }
    )
    clock = FixedClock(T0)
    app = create_app(settings, clock)  # not started: the HTTP API and the database only
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://classification"
    ) as client:
        yield client, clock
    await app.state.runtime.engine.dispose()


async def test_a_later_critical_demand_is_listed_before_earlier_urgent_and_normal_ones(
    engine, classifier, classification
):
    client, clock = classification
    sessions = create_session_factory(engine)
    outbox = Outbox(tables.outbox, source="/test")
    handler = make_batch_handlers(load_lists(), classifier, **THRESHOLDS)[DemandReceived]
    normal = _received("小区门口垃圾桶满了好几天没人清运")  # CITY-GARBAGE: normal
    urgent = _received("小区停水两天了，一直没有恢复供水，请尽快处理")  # UTIL-WATER-OUTAGE: urgent
    critical = _received("电梯坏了有人被困在里面")  # no matter at all, but the cue 被困
    for event in (normal, urgent, critical):  # ten minutes apart, the critical one last
        async with sessions() as session, session.begin():
            await handler(BatchDelivery(session, outbox, clock), [event])
        clock.advance(timedelta(minutes=10))

    response = await client.get("/v1/triage", params={"limit": 200}, headers=_operator(clock))
    assert response.status_code == 200, response.text
    ids = {str(e.demand_id): name for e, name in ((normal, "normal"), (urgent, "urgent"),
                                                  (critical, "critical"))}  # fmt: skip
    ours = [item for item in response.json() if item["demand_id"] in ids]
    assert [ids[item["demand_id"]] for item in ours] == ["critical", "urgent", "normal"]
    assert [(item["urgency"], item["urgency_cue"]) for item in ours] == [
        ("critical", "被困"),
        ("urgent", None),  # the matter's own urgency: only the unit was uncertain
        ("normal", None),
    ]

    # The oldest wait of each urgency, measured for /metrics: the critical demand has waited
    # 10 minutes (it came last), the normal one 30.
    backlog = TriageBacklog(sessions=sessions, clock=clock, interval_s=60)
    registry = CollectorRegistry()
    registry.register(backlog)
    await backlog.measure()
    ages = _samples(registry, "liandong_triage_oldest_age_seconds")
    assert ages == {"critical": 600.0, "urgent": 1200.0, "normal": 1800.0}
    assert _samples(registry, "liandong_triage_pending")["critical"] >= 1

    # The operator's decision continues the flow exactly as before: the urgency comes from the
    # text and the matter chosen, not from the queue.
    decided = await client.post(
        f"/v1/triage/{critical.demand_id}/classify",
        headers=_operator(clock),
        json={"matter_code": "SAFETY-ELEVATOR-TRAPPED", "unit_code": "330502001016"},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["state"] == "classified"
    for event in (normal, urgent):
        answer = await client.post(
            f"/v1/triage/{event.demand_id}/classify",
            headers=_operator(clock),
            json={"matter_code": "CITY-GARBAGE", "unit_code": "330502001016"},
        )
        assert answer.status_code == 200, answer.text
    async with sessions() as session:
        rows = await session.execute(
            select(tables.outbox.c.value).where(tables.outbox.c.topic == "demand.classified")
        )
        classified = [json.loads(value) for (value,) in rows]
    [event] = [e for e in classified if e["demand_id"] == str(critical.demand_id)]
    assert (event["urgency"], event["rule"]) == ("critical", "operator:operator:0042")
    left = await client.get("/v1/triage", params={"limit": 200}, headers=_operator(clock))
    assert not [item for item in left.json() if item["demand_id"] in ids]


async def test_an_operators_decision_exports_as_a_training_row(engine, classifier, classification):
    client, clock = classification
    sessions = create_session_factory(engine)
    handler = make_batch_handlers(load_lists(), classifier, **THRESHOLDS)[DemandReceived]
    event = _received("楼道里有人私拉电线给电动车充电，很危险，请回电13812345678")
    async with sessions() as session, session.begin():
        await handler(BatchDelivery(session, Outbox(tables.outbox, source="/test"), clock), [event])
    decided = await client.post(
        f"/v1/triage/{event.demand_id}/classify",
        headers=_operator(clock),
        json={"matter_code": "SAFETY-FIRE-HAZARD", "unit_code": "330502001016"},
    )
    assert decided.status_code == 200, decided.text

    out = io.StringIO()
    async with sessions() as session:
        written = await export_labelled(session, out, since=clock.now() - timedelta(seconds=1))
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert written == len(rows) >= 1
    [row] = [r for r in rows if r["id"] == str(event.demand_id)]
    assert row["label"] == load_lists().matters_by_code["SAFETY-FIRE-HAZARD"].category
    assert (row["title"], row["text_source"]) == ("", "operator")
    assert "13812345678" not in row["text"]
    assert row["text"].endswith("请回电138****5678")
    # The labelled messages' columns first: `make model` reads the file as it reads those; then
    # the matter and unit the department-type model learns from.
    columns = next(csv.reader(TRAINING_DATA.open(encoding="utf-8")))
    assert list(rows[0]) == [*columns, "matter_code", "unit_code"]
    assert (row["matter_code"], row["unit_code"]) == ("SAFETY-FIRE-HAZARD", "330502001016")
