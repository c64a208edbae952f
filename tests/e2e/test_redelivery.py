"""A demand accepted before the broker lost its topics (the embedded tansu keeps them in
memory): intake's reconciler publishes its `demand.received` again, and the running system
classifies and assigns it; a demand that was classified is not published again."""

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from contracts.events import DemandStatus
from services.intake.models import Demand
from services.runtime.db import create_engine, create_session_factory
from tests.kafka_helpers import eventually
from tests.redelivery_helpers import add_published_demand, published_at


async def test_a_demand_whose_event_was_lost_is_sent_again_and_assigned(services, infra):
    engine = create_engine(infra.async_database_url)
    sessions = create_session_factory(engine)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    try:
        async with sessions() as session, session.begin():
            stranded, _ = await add_published_demand(
                session, received_at=an_hour_ago, status=DemandStatus.received
            )
            _, settled_event = await add_published_demand(
                session, received_at=an_hour_ago, status=DemandStatus.assigned
            )

        async def moved_on() -> str | None:
            async with sessions() as session:
                status = await session.scalar(select(Demand.status).where(Demand.id == stranded))
            return status if status != DemandStatus.received.value else None

        assert await eventually(moved_on, timeout_s=30) == DemandStatus.assigned.value
        async with sessions() as session:
            assert await published_at(session, settled_event) == an_hour_ago

        async with httpx.AsyncClient(timeout=10) as client:
            scrape = (await client.get(f"{services.urls['intake']}/metrics")).text
        counted = [
            float(line.split()[-1])
            for line in scrape.splitlines()
            if line.startswith("liandong_demands_redelivered_total ")
        ]
        assert counted
        assert counted[0] >= 1
    finally:
        await engine.dispose()
