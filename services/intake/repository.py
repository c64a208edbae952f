"""Every query intake makes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from contracts.events import DemandReceived, DemandStatus
from services.intake.models import Demand, TimelineEntry, metadata


async def get_demand(
    session: AsyncSession, demand_id: uuid.UUID, *, with_timeline: bool = False
) -> Demand | None:
    query = select(Demand).where(Demand.id == demand_id)
    if with_timeline:
        query = query.options(selectinload(Demand.timeline))
    return (await session.execute(query)).scalar_one_or_none()


async def get_demand_by_idempotency_key(
    session: AsyncSession, submitted_by: str, key: str
) -> Demand | None:
    """The demand this submitter sent with this key: a key is only unique per submitter."""
    return await session.scalar(
        select(Demand).where(Demand.submitted_by == submitted_by, Demand.idempotency_key == key)
    )


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


@dataclass(frozen=True, slots=True)
class OpenQuery:
    """Filters of Open311's GET requests; an empty or None filter does not apply."""

    ids: Sequence[uuid.UUID] = ()
    service_codes: Sequence[str] = ()
    start: datetime | None = None
    end: datetime | None = None
    open: bool | None = None  # True: not closed yet; False: closed
    submitted_by: str | None = None  # a channel reads back only what it submitted


async def find_demands(session: AsyncSession, query: OpenQuery, *, limit: int) -> list[Demand]:
    """Newest first, with their timelines."""
    statement = select(Demand).options(selectinload(Demand.timeline))
    if query.ids:
        statement = statement.where(Demand.id.in_(query.ids))
    if query.service_codes:
        statement = statement.where(Demand.service_code.in_(query.service_codes))
    if query.start is not None:
        statement = statement.where(Demand.received_at >= query.start)
    if query.end is not None:
        statement = statement.where(Demand.received_at <= query.end)
    if query.open is True:
        statement = statement.where(Demand.status != DemandStatus.closed.value)
    elif query.open is False:
        statement = statement.where(Demand.status == DemandStatus.closed.value)
    if query.submitted_by is not None:
        statement = statement.where(Demand.submitted_by == query.submitted_by)
    statement = statement.order_by(Demand.received_at.desc(), Demand.id).limit(limit)
    return list((await session.scalars(statement)).all())


async def demands_of_caller(session: AsyncSession, key: str, *, limit: int) -> list[Demand]:
    """The demands of a caller, by the phone's normalised form, newest first."""
    statement = (
        select(Demand)
        .where(Demand.citizen_phone_key == key)
        .order_by(Demand.received_at.desc(), Demand.id)
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())


async def mark_stale_events_unpublished(
    session: AsyncSession, outbox: Table, *, cutoff: datetime, limit: int
) -> list[tuple[str, uuid.UUID]]:
    """Mark unpublished again the `demand.received` events (up to `limit`, oldest demand first)
    of demands still `received` since before `cutoff` whose event was last published before it;
    returns their (demand id, event id). The outer condition on `published_at` is checked again
    on the row's newest version under a concurrent update, so two intake replicas never re-send
    one demand twice."""
    outbox_name = f"{outbox.schema}.{outbox.name}"
    statement = text(  # the tables' own names, never input
        f"UPDATE {outbox_name} AS o SET published_at = NULL "  # noqa: S608
        f"FROM (SELECT e.id FROM {metadata.schema}.{Demand.__tablename__} AS d "
        f"JOIN {outbox_name} AS e ON e.key = CAST(d.id AS text) AND e.event_type = :type "
        "WHERE d.status = :received AND d.received_at < :cutoff "
        "AND e.published_at < :cutoff "
        "ORDER BY d.received_at LIMIT :limit) AS due "
        "WHERE o.id = due.id AND o.published_at < :cutoff "
        "RETURNING o.key, o.event_id"
    )
    rows = await session.execute(
        statement,
        {
            "type": DemandReceived.TYPE,
            "received": DemandStatus.received.value,
            "cutoff": cutoff,
            "limit": limit,
        },
    )
    return [(row.key, row.event_id) for row in rows]
