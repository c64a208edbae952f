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
    session: AsyncSession,
    *,
    before: datetime,
    start: datetime,
    end: datetime,
    within: str = "",
    code_length: int = 12,
) -> list[tuple[str, str, bool, int]]:
    """(unit code, matter code, classified at or after `start`, demands) of the demands
    classified from `before` up to `end` whose unit code starts with `within`, counted by the
    first `code_length` digits of the code (the units of one level: the database groups a
    month's demands instead of handing every community's rows over)."""
    current = DemandFact.classified_at >= start
    unit = func.substr(DemandFact.unit_code, 1, code_length)
    query = select(unit, DemandFact.matter_code, current.label("current"), func.count()).where(
        DemandFact.classified_at >= before, DemandFact.classified_at < end
    )
    if within:
        query = query.where(DemandFact.unit_code.startswith(within))
    rows = await session.execute(
        query.group_by(literal_column("1"), DemandFact.matter_code, literal_column("3"))
    )
    return [
        (unit, matter, bool(is_current), int(count)) for unit, matter, is_current, count in rows
    ]


async def counters_by_month(
    session: AsyncSession, prefix: str, months: list[str]
) -> list[tuple[str, str, int]]:
    """(month, metric, value) summed over every department whose unit code starts with
    `prefix` (a unit's whole subtree), for the given months: one grouped statement."""
    rows = await session.execute(
        select(RateCounter.month, RateCounter.metric, func.sum(RateCounter.value))
        .where(RateCounter.month.in_(months), RateCounter.unit_code.startswith(prefix))
        .group_by(RateCounter.month, RateCounter.metric)
    )
    return [(month, metric, int(value)) for month, metric, value in rows]
