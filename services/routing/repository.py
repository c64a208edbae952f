"""Every query routing makes."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, TextClause, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from contracts.jurisdiction import Level, level_of
from services.routing.models import (
    DemandLink,
    Dispute,
    Escalation,
    Extension,
    Summons,
    Task,
    TaskTransition,
)


def jurisdiction_prefix(unit_code: str) -> str:
    """The code prefix every unit at or beneath `unit_code` shares, by level (not by zeros:
    龙溪街道 330502010000 must not see 杨家埠街道 330502011000)."""
    return {
        Level.province: unit_code[:2],
        Level.city: unit_code[:4],
        Level.district: unit_code[:6],
        Level.street: unit_code[:9],
        Level.community: unit_code,
    }[level_of(unit_code)]


async def add_task(session: AsyncSession, task: Task, transition: TaskTransition) -> None:
    # No flush here: the unit of work inserts tasks before their transitions (foreign key
    # order) and batches the rows of a transaction into few statements.
    session.add_all([task, transition])


@lru_cache(maxsize=8)
def _unnest_insert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> TextClause:
    """INSERT ... SELECT FROM unnest(one array per column): the statement's text is the same
    for any number of rows, so it is prepared once, and the driver encodes the arrays itself.
    An array column travels as its elements joined by commas (unit codes and timer marks hold
    none)."""
    casts, selected = [], []
    for name in columns:
        column = table.c[name]
        if isinstance(column.type, ARRAY):
            casts.append(f"CAST(:{name} AS text[])")
            selected.append(f"string_to_array(u.{name}, ',')")
        else:
            casts.append(f"CAST(:{name} AS {column.type.compile(dialect=dialect)}[])")
            selected.append(f"u.{name}")
    names = ", ".join(columns)
    return text(  # names and types from the table itself, never input
        f"INSERT INTO {table.fullname} ({names}) SELECT {', '.join(selected)} "  # noqa: S608
        f"FROM unnest({', '.join(casts)}) AS u({names})"
    )


async def insert_rows(
    connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]
) -> None:
    """Many new rows of a table in one statement (see `_unnest_insert`)."""
    if not rows:
        return
    columns = tuple(rows[0])
    params = {name: [row[name] for row in rows] for name in columns}
    for name in columns:
        if isinstance(table.c[name].type, ARRAY):
            params[name] = [",".join(value) for value in params[name]]
    await connection.execute(_unnest_insert(table, columns, connection.dialect), params)


async def lock_task(session: AsyncSession, task_id: uuid.UUID) -> Task | None:
    return await session.scalar(select(Task).where(Task.id == task_id).with_for_update())


async def get_task(session: AsyncSession, task_id: uuid.UUID) -> Task | None:
    return await session.get(Task, task_id)


async def tasks_of_department(
    session: AsyncSession, department_id: str, *, state: str | None, limit: int, offset: int
) -> list[Task]:
    query = select(Task).where(Task.department_id == department_id)
    if state is not None:
        query = query.where(Task.state == state)
    query = query.order_by(Task.created_at.desc(), Task.id).limit(limit).offset(offset)
    return list((await session.scalars(query)).all())


async def lock_tasks_of_demand(session: AsyncSession, demand_id: uuid.UUID) -> list[Task]:
    query = select(Task).where(Task.demand_id == demand_id).order_by(Task.id).with_for_update()
    return list((await session.scalars(query)).all())


def add_transition(session: AsyncSession, transition: TaskTransition) -> None:
    session.add(transition)


async def lock_dispute(session: AsyncSession, dispute_id: uuid.UUID) -> Dispute | None:
    return await session.scalar(select(Dispute).where(Dispute.id == dispute_id).with_for_update())


async def disputes_within(
    session: AsyncSession, unit_code: str, *, state: str | None
) -> list[Dispute]:
    """Disputes at the unit and beneath it."""
    query = select(Dispute).where(
        Dispute.coordinator_unit_code.startswith(jurisdiction_prefix(unit_code))
    )
    if state is not None:
        query = query.where(Dispute.state == state)
    return list((await session.scalars(query.order_by(Dispute.created_at))).all())


async def pending_extension(session: AsyncSession, task_id: uuid.UUID) -> Extension | None:
    query = select(Extension).where(Extension.task_id == task_id, Extension.state == "pending")
    return await session.scalar(query)


async def lock_extension(session: AsyncSession, extension_id: uuid.UUID) -> Extension | None:
    return await session.scalar(
        select(Extension).where(Extension.id == extension_id).with_for_update()
    )


async def extensions_within(
    session: AsyncSession, unit_code: str, *, state: str | None
) -> list[Extension]:
    query = select(Extension).where(
        Extension.coordinator_unit_code.startswith(jurisdiction_prefix(unit_code))
    )
    if state is not None:
        query = query.where(Extension.state == state)
    return list((await session.scalars(query.order_by(Extension.requested_at))).all())


async def timeline(
    session: AsyncSession, demand_id: uuid.UUID
) -> list[tuple[TaskTransition, Task]]:
    """Every transition of every task of the demand, oldest first (append-only rows)."""
    query = (
        select(TaskTransition, Task)
        .join(Task, Task.id == TaskTransition.task_id)
        .where(Task.demand_id == demand_id)
        .order_by(TaskTransition.at, TaskTransition.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def lock_summons(session: AsyncSession, summons_id: uuid.UUID) -> Summons | None:
    query = select(Summons).where(Summons.id == summons_id).with_for_update()
    return await session.scalar(query.execution_options(populate_existing=True))


async def overdue_summons(session: AsyncSession, now: datetime) -> list[Summons]:
    """Summoned departments that have not arrived by their deadline (for escalation)."""
    query = select(Summons).where(Summons.arrived_at.is_(None), Summons.arrive_by < now)
    return list((await session.scalars(query.order_by(Summons.arrive_by))).all())


async def open_lead_tasks(
    session: AsyncSession, *, places: set[tuple[str, str]], since: datetime
) -> list[Task]:
    """Live lead tasks assigned since `since` whose (matter, community) is one of `places`."""
    if not places:
        return []
    query = select(Task).where(
        Task.role == "lead",
        tuple_(Task.matter_code, Task.demand_unit_code).in_(sorted(places)),
        Task.created_at >= since,
        Task.state.in_(("assigned", "signed", "contacted")),
    )
    return list((await session.scalars(query)).all())


async def lock_open_lead(session: AsyncSession, task_id: uuid.UUID) -> Task | None:
    """The lead task, locked, if it is still open (a duplicate may join it); else None."""
    query = (
        select(Task)
        .where(
            Task.id == task_id,
            Task.role == "lead",
            Task.state.in_(("assigned", "signed", "contacted")),
        )
        .with_for_update(key_share=True)
    )
    return await session.scalar(query)


async def links_to_demand(session: AsyncSession, demand_id: uuid.UUID) -> list[DemandLink]:
    """The demands merged into this demand's lead task, whichever of its tasks leads now."""
    query = (
        select(DemandLink)
        .where(DemandLink.original_demand_id == demand_id, DemandLink.state == "linked")
        .order_by(DemandLink.created_at)
        .with_for_update()
    )
    return list((await session.scalars(query)).all())


async def links_of_task(session: AsyncSession, task_id: uuid.UUID) -> list[DemandLink]:
    """The merged demands still following the task, locked: a merged demand closing meanwhile
    is either told before it closes or not at all."""
    query = (
        select(DemandLink)
        .where(DemandLink.task_id == task_id, DemandLink.state == "linked")
        .order_by(DemandLink.created_at)
        .with_for_update()
    )
    return list((await session.scalars(query)).all())


async def lock_link_of_demand(session: AsyncSession, demand_id: uuid.UUID) -> DemandLink | None:
    """The live link of a merged demand, locked."""
    query = (
        select(DemandLink)
        .where(DemandLink.demand_id == demand_id, DemandLink.state == "linked")
        .with_for_update()
    )
    return await session.scalar(query)


async def lock_link(session: AsyncSession, link_id: uuid.UUID) -> DemandLink | None:
    return await session.scalar(
        select(DemandLink).where(DemandLink.id == link_id).with_for_update()
    )


async def links_within(session: AsyncSession, unit_code: str) -> list[tuple[DemandLink, Task]]:
    query = (
        select(DemandLink, Task)
        .join(Task, Task.id == DemandLink.task_id)
        .where(
            DemandLink.state == "linked", Task.unit_code.startswith(jurisdiction_prefix(unit_code))
        )
        .order_by(DemandLink.created_at)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def escalations_within(
    session: AsyncSession, unit_code: str, *, state: str | None, limit: int
) -> list[Escalation]:
    """Escalations held by coordinators at the unit and beneath it, newest first."""
    query = select(Escalation).where(
        Escalation.coordinator_unit_code.startswith(jurisdiction_prefix(unit_code))
    )
    if state is not None:
        query = query.where(Escalation.state == state)
    query = query.order_by(Escalation.opened_at.desc(), Escalation.id).limit(limit)
    return list((await session.scalars(query)).all())
