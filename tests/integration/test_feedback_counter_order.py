"""Two feedback transactions that add to the same departments' counters in opposite orders (two
partitions' batches side by side) both commit: the counters are written once per transaction,
in key order, so neither waits for the other while holding a row it wants (make chaos found
feedback's batches deadlocking, and the consumer minutes behind)."""

import asyncio
import uuid

from sqlalchemy import select

from services.feedback.models import RateCounter
from services.feedback.repository import counters
from services.runtime.db import create_session_factory


async def test_batches_adding_counters_in_opposite_orders_both_commit(engine):
    sessions = create_session_factory(engine)
    a, b = (f"330502000000.order-{uuid.uuid4().hex[:8]}-{x}" for x in "ab")
    month = "2026-12"
    first_added = [asyncio.Event(), asyncio.Event()]

    async def batch(me: int, first: str, second: str) -> None:
        async with sessions() as session, session.begin():
            await counters.add(
                session,
                {(month, first, "assigned"): 1},
                department_name=first,
                unit_code="330502000000",
            )
            await session.flush()
            first_added[me].set()
            await first_added[1 - me].wait()  # each now holds what the other adds next
            await counters.add(
                session,
                {(month, second, "assigned"): 1},
                department_name=second,
                unit_code="330502000000",
            )

    await asyncio.wait_for(asyncio.gather(batch(0, a, b), batch(1, b, a)), timeout=60)

    async with sessions() as session:
        rows = await session.execute(
            select(RateCounter.department_id, RateCounter.value).where(
                RateCounter.department_id.in_([a, b])
            )
        )
        assert {department: value for department, value in rows} == {a: 2, b: 2}
