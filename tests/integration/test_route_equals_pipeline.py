"""`liandong route` makes the pipeline's decision: the same demands through classification's
batch handler (real database) and through the batch routing tool give the same matter, level,
department and triage, routing's power-list resolution applied to what classification
published."""

import io
import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from contracts.events import Channel, Citizen, DemandReceived, Location
from contracts.jurisdiction import Level
from contracts.lists import load_lists
from services.classification.handlers import make_batch_handlers
from services.classification.models import TriageItem, tables
from services.classification.route_file import route_file
from services.classification.routing_model import ARTIFACT, Router, TypeModel
from services.runtime.clock import FixedClock
from services.runtime.db import create_session_factory
from services.runtime.kafka import BatchDelivery
from services.runtime.outbox import Outbox

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
CASES = [
    ("月河社区楼下烧烤店每晚噪音扰民到凌晨两点，多次反映未解决", "330502001016"),
    ("我想表扬一下你们的工作人员态度很好", "330502001016"),
    ("小区门口垃圾桶满了好几天没人清运，臭气熏天", "330502001005"),
    ("工地老板拖欠工资三个月不发，找了劳动监察也没用", "330502001016"),
    ("村里有人违章搭建房屋，占用了村道，希望镇里管一管", "330502100002"),
    ("孩子明年上小学，想咨询一下学区划分和入学需要的材料", "330503001001"),
    ("路灯坏了一个多月，晚上走路很不安全", "330502001016"),
]


@pytest.fixture(scope="module")
def router(classifier):
    if not ARTIFACT.exists():
        pytest.fail(f"no department-type model at {ARTIFACT}: run `make model` (make test does)")
    return Router(load_lists(), classifier, TypeModel.load(ARTIFACT))


async def test_liandong_route_decides_as_the_pipeline_does(engine, classifier, router):
    lists = load_lists()
    known = [(text, unit) for text, unit in CASES if unit in lists.units_by_code]
    assert len(known) == len(CASES)
    sessions = create_session_factory(engine)
    handler = make_batch_handlers(
        lists, classifier, router, matter_threshold=0.5, unit_threshold=0.7
    )[DemandReceived]
    events = [
        DemandReceived(
            demand_id=uuid.uuid4(),
            occurred_at=NOW,
            channel=Channel.hotline,
            content=text,
            demand_type=None,
            location=Location(unit_code=unit),
            citizen=Citizen(name="张三", phone="13800000000"),
        )
        for text, unit in CASES
    ]
    async with sessions() as session, session.begin():
        await handler(
            BatchDelivery(session, Outbox(tables.outbox, source="/test"), FixedClock(NOW)), events
        )

    ids = [str(e.demand_id) for e in events]
    async with sessions() as session:
        rows = await session.execute(
            select(tables.outbox.c.topic, tables.outbox.c.value).order_by(tables.outbox.c.id)
        )
        classified = {
            body["demand_id"]: body
            for topic, value in rows
            if topic == "demand.classified" and (body := json.loads(value))["demand_id"] in ids
        }
        triaged = set(
            map(
                str,
                await session.scalars(
                    select(TriageItem.demand_id).where(TriageItem.demand_id.in_(ids))
                ),
            )
        )
    pipeline = []
    for event, (_, unit) in zip(events, CASES, strict=True):
        key = str(event.demand_id)
        if key in triaged:
            pipeline.append(("true", ""))
            continue
        body = classified[key]
        level = Level(body["level"]) if body.get("level") else None
        owner = lists.owner(body["matter_code"], unit, level)  # what routing does with it
        pipeline.append(
            (
                "false",
                f"{body['matter_code']}|{owner.lead.type}|{owner.lead.id}|{owner.level.value}",
            )
        )

    source = io.StringIO(
        "id,title,text,unit_code\n"
        + "".join(f"{i},,{text},{unit}\n" for i, (text, unit) in enumerate(CASES))
    )
    out = io.StringIO()
    assert route_file(router, source, out) == len(CASES)
    lines = out.getvalue().splitlines()
    assert lines[0] == "id,matter,department_type,department_id,level,confidence,triage"
    tool = []
    for line in lines[1:]:
        _, matter, kind, department, chosen, _, triage = line.split(",")
        tool.append((triage, "" if triage == "true" else f"{matter}|{kind}|{department}|{chosen}"))
    assert tool == pipeline
    # Not a vacuous comparison: some demands are dispatched, and the text with no matter is not.
    assert any(t == "false" for t, _ in tool)
    assert tool[1][0] == "true"
