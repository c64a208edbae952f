"""Every query intake makes."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.intake.models import Demand, TimelineEntry


async def get_demand(
    session: AsyncSession, demand_id: uuid.UUID, *, with_timeline: bool = False
) -> Demand | None:
    query = select(Demand).where(Demand.id == demand_id)
    if with_timeline:
        query = query.options(selectinload(Demand.timeline))
    return (await session.execute(query)).scalar_one_or_none()


async def get_demand_by_idempotency_key(session: AsyncSession, key: str) -> Demand | None:
    return await session.scalar(select(Demand).where(Demand.idempotency_key == key))


async def add_demand(session: AsyncSession, demand: Demand) -> None:
    session.add(demand)
    session.add(
        TimelineEntry(
            demand_id=demand.id,
            status=demand.status,
            department_name=None,
            note=None,
            occurred_at=demand.received_at,
        )
    )
    await session.flush()


async def lock_demand(session: AsyncSession, demand_id: uuid.UUID) -> Demand | None:
    return await session.scalar(select(Demand).where(Demand.id == demand_id).with_for_update())


async def add_timeline_entry(session: AsyncSession, entry: TimelineEntry) -> None:
    session.add(entry)
    await session.flush()
