"""Intake's reconciler on the real database and broker: a demand left `received` whose event
the broker lost has that event published again, with the same event id, once per delay; a
demand that moved on, or is still young, is left alone."""

from datetime import UTC, datetime, timedelta

from contracts import topics
from contracts.events import DemandStatus
from services.intake.models import tables
from services.intake.redelivery import DemandRedeliverer
from services.runtime.clock import SystemClock
from services.runtime.db import create_session_factory
from services.runtime.outbox import Outbox
from tests.kafka_helpers import header, publish_outbox, read_records
from tests.redelivery_helpers import add_published_demand, published_at


async def test_a_stranded_demand_is_sent_again_with_its_event_id_and_a_settled_one_is_not(
    infra, engine
):
    sessions = create_session_factory(engine)
    outbox = Outbox(tables.outbox, source="/liandong/intake")
    now = datetime.now(UTC)
    an_hour_ago = now - timedelta(hours=1)
    async with sessions() as session, session.begin():
        stranded, stranded_event = await add_published_demand(
            session, received_at=an_hour_ago, status=DemandStatus.received
        )
        _, settled_event = await add_published_demand(
            session, received_at=an_hour_ago, status=DemandStatus.assigned
        )
        _, triaged_event = await add_published_demand(
            session, received_at=an_hour_ago, status=DemandStatus.triage
        )
        _, young_event = await add_published_demand(
            session, received_at=now - timedelta(seconds=30), status=DemandStatus.received
        )
    redeliverer = DemandRedeliverer(
        sessions=sessions,
        outbox=outbox,
        clock=SystemClock(),
        after_s=300,
        interval_s=1,
        batch_size=1000,
    )

    assert await redeliverer.sweep_once() >= 1
    assert redeliverer.redelivered_total >= 1
    async with sessions() as session:
        assert await published_at(session, stranded_event) is None  # the relay's again
        for untouched in (settled_event, triaged_event):
            assert await published_at(session, untouched) == an_hour_ago
        assert await published_at(session, young_event) == now - timedelta(seconds=30)

    await publish_outbox(infra.kafka_bootstrap_servers, outbox, sessions, batch_size=1000)
    records = await read_records(
        infra.kafka_bootstrap_servers,
        [topics.DEMAND_RECEIVED],
        lambda r: header(r, "ce_demandid") == str(stranded),
    )
    # The same event id: a classification that did read it drops this copy in its inbox.
    assert header(records[0], "ce_id") == str(stranded_event)
    assert records[0].key == str(stranded).encode()

    # Published again just now: not due again before another `after_s`.
    await redeliverer.sweep_once()
    async with sessions() as session:
        again = await published_at(session, stranded_event)
    assert again is not None
    assert again > now
