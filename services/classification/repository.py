"""Every query classification makes: outcomes, the triage queue and the operators' examples."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import Urgency
from services.classification.models import Classification, LabelledExample, TriageItem

# Critical first, then urgent, then normal (and anything else, should a value ever appear).
URGENCY_ORDER = case(
    (TriageItem.urgency == Urgency.critical.value, 0),
    (TriageItem.urgency == Urgency.urgent.value, 1),
    else_=2,
)


async def put_classification(session: AsyncSession, classification: Classification) -> None:
    """Record the outcome for the demand, replacing an earlier one (an operator's answer
    replaces the triage outcome)."""
    await session.merge(classification)


def add_triage_outcome(
    session: AsyncSession, classification: Classification, item: TriageItem
) -> None:
    """A demand sent to triage: its outcome and its place in the queue."""
    session.add(classification)
    session.add(item)


def add_labelled_example(session: AsyncSession, example: LabelledExample) -> None:
    session.add(example)


async def triage_items(session: AsyncSession, *, state: str, limit: int) -> list[TriageItem]:
    """The queue in the order operators work it: by urgency, then oldest first."""
    items = await session.scalars(
        select(TriageItem)
        .where(TriageItem.state == state)
        .order_by(URGENCY_ORDER, TriageItem.created_at, TriageItem.demand_id)
        .limit(limit)
    )
    return list(items)


async def lock_triage_item(session: AsyncSession, demand_id: uuid.UUID) -> TriageItem | None:
    item: TriageItem | None = await session.scalar(
        select(TriageItem).where(TriageItem.demand_id == demand_id).with_for_update()
    )
    return item


async def get_triage_item(session: AsyncSession, demand_id: uuid.UUID) -> TriageItem | None:
    return await session.get(TriageItem, demand_id)


async def was_classified(session: AsyncSession, demand_id: uuid.UUID) -> bool:
    """Whether the demand went on to routing (by the model or an operator's hand)."""
    return await routed_unit(session, demand_id) is not None


async def routed_unit(session: AsyncSession, demand_id: uuid.UUID) -> str | None:
    """The unit a routed demand was classified at (None: not routed)."""
    row = (
        await session.execute(
            select(Classification.outcome, Classification.unit_code).where(
                Classification.demand_id == demand_id
            )
        )
    ).first()
    if row is None or row.outcome != "classified":
        return None
    unit: str | None = row.unit_code
    return unit


@dataclass(frozen=True, slots=True)
class PendingByUrgency:
    urgency: str
    count: int
    oldest: datetime


async def pending_by_urgency(session: AsyncSession) -> list[PendingByUrgency]:
    """How many items wait in the queue per stored urgency, and the oldest arrival."""
    rows = await session.execute(
        select(TriageItem.urgency, func.count(), func.min(TriageItem.created_at))
        .where(TriageItem.state == "pending")
        .group_by(TriageItem.urgency)
    )
    return [PendingByUrgency(urgency, count, oldest) for urgency, count, oldest in rows]


async def labelled_examples(
    session: AsyncSession, *, since: datetime | None
) -> AsyncIterator[LabelledExample]:
    """The operators' decisions (those since `since`, if given) in the order they were made,
    streamed."""
    query = select(LabelledExample).order_by(LabelledExample.decided_at, LabelledExample.id)
    if since is not None:
        query = query.where(LabelledExample.decided_at >= since)
    async for example in await session.stream_scalars(query.execution_options(yield_per=1000)):
        yield example
