"""Queries of the facts feedback keeps from events: each demand's matter, place and phone,
each task, reply, redo and evaluation (the rates are counted from them)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.feedback.models import (
    DemandFact,
    EvaluationFact,
    PraiseFact,
    RateCounter,
    RedoFact,
    ReplyFact,
    TaskFact,
    WithdrawalFact,
)


def add_fact(
    session: AsyncSession,
    fact: TaskFact | ReplyFact | RedoFact | EvaluationFact | PraiseFact | WithdrawalFact,
) -> None:
    session.add(fact)


async def get_demand_fact(session: AsyncSession, demand_id: uuid.UUID) -> DemandFact | None:
    return await session.get(DemandFact, demand_id)


async def put_demand_fact(session: AsyncSession, fact: DemandFact) -> DemandFact:
    """Insert the demand's fact, or replace it (an operator's reclassification)."""
    return await session.merge(fact)


async def lead_task_fact(session: AsyncSession, demand_id: uuid.UUID) -> TaskFact | None:
    """The demand's latest lead task as the task topics told it."""
    fact: TaskFact | None = await session.scalar(
        select(TaskFact)
        .where(TaskFact.demand_id == demand_id, TaskFact.role == "lead")
        .order_by(TaskFact.assigned_at.desc())
        .limit(1)
    )
    return fact


async def get_task_fact(session: AsyncSession, task_id: uuid.UUID) -> TaskFact | None:
    return await session.get(TaskFact, task_id)


async def lock_task_fact(session: AsyncSession, task_id: uuid.UUID) -> TaskFact | None:
    return await session.get(TaskFact, task_id, with_for_update=True)


async def counters_of_month(
    session: AsyncSession, month: str
) -> list[tuple[str, str, str, str, int]]:
    """(department id, name, unit code, metric, value) of every counter of the month."""
    rows = await session.execute(
        select(
            RateCounter.department_id,
            RateCounter.department_name,
            RateCounter.unit_code,
            RateCounter.metric,
            RateCounter.value,
        ).where(RateCounter.month == month)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def demands_by_unit_and_matter(
    session: AsyncSession, *, before: datetime, start: datetime, end: datetime
) -> list[tuple[str, str, bool, int]]:
    """(unit code, matter code, classified at or after `start`, demands) of the demands
    classified from `before` up to `end`."""
    current = DemandFact.classified_at >= start
    rows = await session.execute(
        select(DemandFact.unit_code, DemandFact.matter_code, current.label("current"), func.count())
        .where(DemandFact.classified_at >= before, DemandFact.classified_at < end)
        .group_by(DemandFact.unit_code, DemandFact.matter_code, literal_column("3"))
    )
    return [
        (unit, matter, bool(is_current), int(count)) for unit, matter, is_current, count in rows
    ]
