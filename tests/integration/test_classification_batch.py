"""Classification's batch handler on a real database: a polled batch of received demands is
weighed by the category model in one call, and each demand ends exactly as it would alone."""

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from contracts.envelope import Envelope
from contracts.events import Channel, Citizen, DemandReceived, Location
from contracts.lists import load_lists
from services.classification.handlers import make_batch_handlers, make_handlers
from services.classification.models import Classification, TriageItem, tables
from services.runtime.clock import FixedClock
from services.runtime.db import create_session_factory
from services.runtime.kafka import BatchDelivery, Delivery
from services.runtime.outbox import Outbox

NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)
COMMUNITY = "330502001016"
THRESHOLDS = {"matter_threshold": 0.5, "unit_threshold": 0.8}
# Classified; no matter keyword; a matter but an address that names nothing; classified.
CASES = [
    ("月河社区楼下烧烤店每晚噪音扰民到凌晨两点，多次反映未解决", Location(unit_code=COMMUNITY)),
    ("我想表扬一下你们的工作人员态度很好", Location(unit_code=COMMUNITY)),
    ("小区门口垃圾桶满了好几天没人清运", Location(address="火星基地七号")),
    ("工地老板拖欠工资三个月不发", Location(unit_code=COMMUNITY)),
]


def _received(content, location):
    return DemandReceived(
        demand_id=uuid.uuid4(),
        occurred_at=NOW,
        channel=Channel.hotline,
        content=content,
        demand_type=None,
        location=location,
        citizen=Citizen(name="张三", phone="13800000000"),
    )


async def _outcomes(sessions, events):
    """Per demand: its recorded outcome, matter, unit and reason, and the types of the events
    its transaction put in the outbox."""
    ids = [str(e.demand_id) for e in events]
    async with sessions() as session:
        results = {
            str(r.demand_id): r
            for r in await session.scalars(
                select(Classification).where(Classification.demand_id.in_(ids))
            )
        }
        triaged = set(
            map(
                str,
                await session.scalars(
                    select(TriageItem.demand_id).where(TriageItem.demand_id.in_(ids))
                ),
            )
        )
        rows = await session.execute(
            select(tables.outbox.c.topic, tables.outbox.c.value).order_by(tables.outbox.c.id)
        )
        outbox = [(json.loads(value)["demand_id"], topic) for topic, value in rows]
    return [
        (
            results[i].outcome,
            results[i].matter_code,
            results[i].unit_code,
            results[i].reason,
            i in triaged,
            [topic for key, topic in outbox if key == i],
        )
        for i in ids
    ]


async def test_a_batch_ends_each_demand_as_it_would_end_alone(engine, classifier):
    lists = load_lists()
    sessions = create_session_factory(engine)
    outbox = Outbox(tables.outbox, source="/test")
    clock = FixedClock(NOW)
    batch_handler = make_batch_handlers(lists, classifier, **THRESHOLDS)[DemandReceived]
    handler = make_handlers(lists, classifier, **THRESHOLDS)[DemandReceived]

    batch = [_received(content, location) for content, location in CASES]
    async with sessions() as session, session.begin():
        await batch_handler(BatchDelivery(session, outbox, clock), batch)

    alone = [_received(content, location) for content, location in CASES]
    for event in alone:
        async with sessions() as session, session.begin():
            envelope = Envelope(
                id=str(uuid.uuid4()),
                type=event.TYPE,
                source="/test",
                time=NOW,
                subject=str(event.demand_id),
                demand_id=str(event.demand_id),
            )
            await handler(Delivery(session, outbox, envelope, clock), event)

    in_batch, one_by_one = await _outcomes(sessions, batch), await _outcomes(sessions, alone)
    assert in_batch == one_by_one
    assert [o[0] for o in in_batch] == ["classified", "triage", "triage", "classified"]
    assert in_batch[0][1:3] == ("ENV-NOISE-LIFE", COMMUNITY)
    assert "no matter keyword" in in_batch[1][3]
    assert [o[4] for o in in_batch] == [False, True, True, False]  # a triage item each
    assert in_batch[0][5] == ["demand.classified"]
    assert in_batch[1][5] == ["demand.triage", "demand.status"]


async def test_the_triage_queue_shows_what_the_submitter_chose(engine, classifier):
    sessions = create_session_factory(engine)
    handler = make_batch_handlers(load_lists(), classifier, **THRESHOLDS)[DemandReceived]
    event = _received("The street light outside number 12 is broken", Location(unit_code=COMMUNITY))
    event = event.model_copy(update={"matter_code": "CITY-STREETLIGHT"})
    async with sessions() as session, session.begin():
        await handler(
            BatchDelivery(session, Outbox(tables.outbox, source="/test"), FixedClock(NOW)), [event]
        )
    async with sessions() as session:
        item = await session.get(TriageItem, event.demand_id)
    assert item is not None
    assert item.reason == "the text has no Chinese to classify"
    assert item.suggestions["chosen"] == "CITY-STREETLIGHT"
