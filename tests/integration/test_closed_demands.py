"""A closed demand stays closed: intake and feedback ignore a later status for it (a merged
demand closed by its citizen's evaluation while the task it followed was redone, or a re-sent
event), on the real database through their own handlers."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from contracts.envelope import Envelope
from contracts.events import (
    CallbackRequested,
    DemandStatus,
    DemandStatusChanged,
    Satisfaction,
)
from contracts.lists import load_lists
from contracts.lists.calendar import TimeLimit
from services.feedback import handlers as feedback_handlers
from services.feedback.models import Callback, DemandFact
from services.feedback.models import tables as feedback_tables
from services.feedback.repository import callbacks as callback_queries
from services.feedback.service import callbacks
from services.intake.handlers import record_status
from services.intake.models import Demand, TimelineEntry
from services.intake.models import tables as intake_tables
from services.runtime.clock import FixedClock
from services.runtime.db import create_session_factory
from services.runtime.kafka import Delivery
from services.runtime.outbox import Outbox

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DEPARTMENT = "330502000000.urban_management"
POLICY = callbacks.CallbackPolicy(
    lists=load_lists(),
    window=TimeLimit.parse("3 working_days"),
    evaluation_url="https://example.test/e/{demand_id}?token={token}",
    secret="test-secret-of-at-least-32-characters!!",
)


def _status(demand_id, status, at, note=None):
    return DemandStatusChanged(
        demand_id=demand_id,
        occurred_at=at,
        status=status,
        department_id=DEPARTMENT,
        department_name="吴兴区综合行政执法局",
        note=note,
    )


def _delivery(session, outbox, event):
    envelope = Envelope(
        id=str(uuid.uuid4()),
        type=event.TYPE,
        source="/test",
        time=event.occurred_at,
        subject=str(event.demand_id),
        demand_id=str(event.demand_id),
    )
    return Delivery(session, outbox, envelope, FixedClock(event.occurred_at))


async def test_intake_keeps_a_closed_demand_closed(engine):
    sessions = create_session_factory(engine)
    outbox = Outbox(intake_tables.outbox, source="/test")
    demand_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        session.add(
            Demand(
                id=demand_id, channel="app", content="楼下烧烤店夜间噪音扰民", request_sha256="x",
                status="received", received_at=T0, updated_at=T0,
            )
        )  # fmt: skip
    steps = [
        (DemandStatus.replied, T0 + timedelta(hours=1), "已处理"),
        (DemandStatus.closed, T0 + timedelta(hours=2), "感谢您的评价，诉求已办结归档。"),
        # The task it was merged into is redone and replied again: not this demand's news.
        (DemandStatus.replied, T0 + timedelta(hours=5), "已再次处理"),
    ]
    for status, at, note in steps:
        event = _status(demand_id, status, at, note)
        async with sessions() as session, session.begin():
            await record_status(_delivery(session, outbox, event), event)
    async with sessions() as session:
        demand = await session.get(Demand, demand_id)
        timeline = (
            await session.scalars(
                select(TimelineEntry.status)
                .where(TimelineEntry.demand_id == demand_id)
                .order_by(TimelineEntry.id)
            )
        ).all()
    assert demand is not None
    assert demand.status == "closed"
    assert demand.updated_at == T0 + timedelta(hours=2)
    assert timeline == ["replied", "closed"]


async def test_feedback_never_reopens_the_callback_of_a_closed_demand(engine):
    sessions = create_session_factory(engine)
    outbox = Outbox(feedback_tables.outbox, source="/test")
    on_status = feedback_handlers.make_handlers(POLICY)[DemandStatusChanged]
    demand_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        session.add(
            DemandFact(
                demand_id=demand_id, matter_code="ENV-NOISE-LIFE", unit_code="330502001016",
                classified_at=T0, citizen_phone="13800000000",
            )
        )  # fmt: skip

    async def deliver(event):
        async with sessions() as session, session.begin():
            await on_status(_delivery(session, outbox, event), event)

    await deliver(_status(demand_id, DemandStatus.replied, T0 + timedelta(hours=1), "已处理"))
    async with sessions() as session, session.begin():
        callback = await callback_queries.lock_callback(session, demand_id)
        assert callback is not None
        await callbacks.evaluate(
            session,
            outbox,
            POLICY,
            callback,
            callbacks.Evaluation(
                resolved=False,
                satisfaction=Satisfaction.dissatisfied,
                comment=None,
                evaluated_by="citizen",
            ),
            now=T0 + timedelta(hours=2),
        )
    await deliver(_status(demand_id, DemandStatus.closed, T0 + timedelta(hours=2)))
    # A redo's reply of the task this demand was merged into: the demand is closed.
    await deliver(_status(demand_id, DemandStatus.replied, T0 + timedelta(hours=5), "已再次处理"))
    async with sessions() as session:
        callback = await session.get(Callback, demand_id)
        phone = await session.scalar(
            select(DemandFact.citizen_phone).where(DemandFact.demand_id == demand_id)
        )
        requests = (
            await session.scalars(
                select(feedback_tables.outbox.c.value).where(
                    feedback_tables.outbox.c.key == str(demand_id),
                    feedback_tables.outbox.c.event_type == CallbackRequested.TYPE,
                )
            )
        ).all()
    assert callback is not None
    assert (callback.state, callback.reply_round, callback.satisfaction) == (
        "evaluated",
        1,
        "dissatisfied",
    )
    assert callback.closed_at == T0 + timedelta(hours=2)
    assert phone is None
    assert len(requests) == 1  # the first reply's only: no round 2 without a phone
