"""Queries of the callbacks (回访) and of the phone kept for them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.feedback.models import Callback, DemandFact


def add_callback(session: AsyncSession, callback: Callback) -> None:
    session.add(callback)


async def lock_callback(session: AsyncSession, demand_id: uuid.UUID) -> Callback | None:
    callback: Callback | None = await session.scalar(
        select(Callback).where(Callback.demand_id == demand_id).with_for_update()
    )
    return callback


async def citizen_phone(session: AsyncSession, demand_id: uuid.UUID) -> str | None:
    """The phone `demand.classified` gave for the demand, while it is kept."""
    phone: str | None = await session.scalar(
        select(DemandFact.citizen_phone).where(DemandFact.demand_id == demand_id)
    )
    return phone


async def lock_due_callbacks(
    session: AsyncSession, state: str, *, now: datetime, limit: int
) -> Sequence[Callback]:
    """Callbacks in `state` whose window has ended, the earliest first (FOR UPDATE SKIP LOCKED:
    several replicas sweep without waiting on each other or taking one twice)."""
    due = await session.scalars(
        select(Callback)
        .where(Callback.state == state, Callback.evaluate_by <= now)
        .order_by(Callback.evaluate_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return due.all()


async def erase_phones(session: AsyncSession, demand_ids: Sequence[uuid.UUID]) -> None:
    await session.execute(
        update(DemandFact).where(DemandFact.demand_id.in_(demand_ids)).values(citizen_phone=None)
    )


async def callbacks_with_phone(
    session: AsyncSession, state: str, *, limit: int
) -> list[tuple[Callback, str | None]]:
    """Callbacks in `state` with the citizen's phone, the nearest window end first."""
    rows = await session.execute(
        select(Callback, DemandFact.citizen_phone)
        .outerjoin(DemandFact, DemandFact.demand_id == Callback.demand_id)
        .where(Callback.state == state)
        .order_by(Callback.evaluate_by)
        .limit(limit)
    )
    return [(callback, phone) for callback, phone in rows]
