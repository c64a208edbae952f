"""Every query routing makes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Row, RowMapping, Table, TextClause, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from contracts.events import Stage
from contracts.jurisdiction import Level, level_of
from services.routing.models import (
    DemandLink,
    Dispute,
    Escalation,
    Extension,
    Summons,
    Task,
    TaskTransition,
    escalations,
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


async def get_summons(session: AsyncSession, summons_id: uuid.UUID) -> Summons | None:
    return await session.get(Summons, summons_id)


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


# The escalation sweeper's statements: one set-based statement per batch for each kind of write.

_CLAIM = text(
    """
    SELECT d.id AS timer_id, d.stage, d.action, d.ref, d.due_at AS timer_due_at, d.fence,
           t.id, t.demand_id, t.version, t.state, t.role, t.department_id, t.unit_code,
           t.matter_code, t.chain, t.created_at, t.sign_due_at, t.first_contact_due_at,
           t.reply_due_at, t.reply_clock_from, t.working_clock, t.fired, t.escalation_id,
           t.escalation_level, t.escalation_stage, t.escalation_due_at, t.supervised
    FROM routing.deadlines d JOIN routing.tasks t ON t.id = d.task_id
    WHERE d.due_at <= :now
    ORDER BY d.due_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)

_DELETE_TIMERS = text("DELETE FROM routing.deadlines WHERE id = ANY(CAST(:ids AS bigint[]))")

_UPDATE_ESCALATED_TASKS = text(
    """
    UPDATE routing.tasks AS t SET
        updated_at = CASE WHEN u.escalated THEN :now ELSE t.updated_at END,
        fired = string_to_array(u.fired, '|'),
        escalation_id = u.escalation_id,
        escalation_level = u.escalation_level,
        escalation_stage = u.escalation_stage,
        escalation_due_at = u.escalation_due_at,
        supervised = u.supervised
    FROM unnest(
        CAST(:ids AS uuid[]), CAST(:escalated AS boolean[]), CAST(:fired AS text[]),
        CAST(:escalation_ids AS uuid[]), CAST(:levels AS int[]), CAST(:stages AS text[]),
        CAST(:act_by AS timestamptz[]), CAST(:supervised AS boolean[])
    ) AS u(id, escalated, fired, escalation_id, escalation_level, escalation_stage,
           escalation_due_at, supervised)
    WHERE t.id = u.id
    """
)

_CLIMBED = text(
    """
    UPDATE routing.escalations SET state = 'climbed', closed_at = :now, closed_by = :actor,
        closed_reason = 'not acted on in time: escalated further'
    WHERE id = ANY(CAST(:ids AS uuid[])) AND state = 'open'
    """
)

_ESCALATION_COLUMNS = {
    "id": "uuid",
    "task_id": "uuid",
    "demand_id": "uuid",
    "department_id": "text",
    "unit_code": "text",
    "coordinator_unit_code": "text",
    "matter_code": "text",
    "stage": "text",
    "level": "int",
    "supervised": "boolean",
    "due_at": "timestamptz",
    "act_by": "timestamptz",
    "reason": "text",
    "state": "text",
    "opened_at": "timestamptz",
}

# Built from the constant column list above, never from input.
_INSERT_ESCALATIONS = text(
    "INSERT INTO routing.escalations ("  # noqa: S608
    + ", ".join(_ESCALATION_COLUMNS)
    + ") SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _ESCALATION_COLUMNS.items())
    + ")"
)

_MISSED = text(
    "UPDATE routing.summons SET missed_at = :now "
    "WHERE id = ANY(CAST(:ids AS uuid[])) AND arrived_at IS NULL"
)

_SUMMONERS = text(
    "SELECT id, coordinator_unit_code FROM routing.summons WHERE id = ANY(CAST(:ids AS uuid[]))"
)


async def claim_due_timers(
    session: AsyncSession, now: datetime, limit: int
) -> Sequence[RowMapping]:
    """Due timers with their tasks, locked; ones another sweeper holds are skipped."""
    result = await session.execute(_CLAIM, {"now": now, "limit": limit})
    return result.mappings().all()


async def claim_due_disputes(session: AsyncSession, now: datetime, limit: int) -> Sequence[Dispute]:
    """Open disputes whose coordinator's time to rule ran out, locked (skipping held ones)."""
    query = (
        select(Dispute)
        .where(Dispute.state == "open", Dispute.act_by <= now)
        .order_by(Dispute.act_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def claim_due_extensions(
    session: AsyncSession, now: datetime, limit: int
) -> Sequence[Row[Extension, str, datetime, bool]]:
    """Pending extension requests not decided in time, locked, with their task's state, reply
    deadline and clock."""
    query = (
        select(Extension, Task.state, Task.reply_due_at, Task.working_clock)
        .join(Task, Task.id == Extension.task_id)
        .where(Extension.state == "pending", Extension.act_by <= now)
        .order_by(Extension.act_by)
        .limit(limit)
        .with_for_update(of=Extension, skip_locked=True)
    )
    return (await session.execute(query)).all()


async def summoners(session: AsyncSession, summons_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The coordinator unit that issued each summons."""
    if not summons_ids:
        return {}
    found = await session.execute(_SUMMONERS, {"ids": summons_ids})
    return {summons_id: unit for summons_id, unit in found}


async def delete_timers(session: AsyncSession, timer_ids: list[int]) -> None:
    await session.execute(_DELETE_TIMERS, {"ids": timer_ids})


async def update_escalated_tasks(session: AsyncSession, columns: dict[str, Any]) -> None:
    """The sweeper's changes to its tasks (fired marks, escalation fields), one array a column."""
    await session.execute(_UPDATE_ESCALATED_TASKS, columns)


async def insert_escalations(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        columns = {name: [row[name] for row in rows] for name in _ESCALATION_COLUMNS}
        await session.execute(_INSERT_ESCALATIONS, columns)


async def close_climbed(
    session: AsyncSession, escalation_ids: list[uuid.UUID], *, now: datetime, actor: str
) -> None:
    """Open escalations that climbed past their coordinator close as `climbed`."""
    if escalation_ids:
        await session.execute(_CLIMBED, {"ids": escalation_ids, "now": now, "actor": actor})


async def mark_summons_missed(
    session: AsyncSession, summons_ids: list[uuid.UUID], now: datetime
) -> None:
    if summons_ids:
        await session.execute(_MISSED, {"ids": summons_ids, "now": now})


_AUDIT = text(
    """
    SELECT
      (SELECT count(*) FROM routing.tasks t
        WHERE t.state IN ('assigned', 'signed', 'contacted') AND NOT t.supervised
          AND NOT EXISTS (SELECT 1 FROM routing.deadlines d
                          WHERE d.task_id = t.id AND d.fence = t.version)) AS stuck,
      (SELECT count(*) FROM routing.disputes
        WHERE state = 'open' AND act_by IS NULL AND NOT supervised) AS stuck_disputes,
      (SELECT count(*) FROM routing.extensions
        WHERE state = 'pending' AND act_by IS NULL AND NOT supervised) AS stuck_extensions,
      (SELECT min(due_at) FROM routing.deadlines) AS oldest_due
    """
)


async def timer_audit(session: AsyncSession) -> Row[Any]:
    """Open work without a live timer, and the oldest due timer (the auditor's one query)."""
    return (await session.execute(_AUDIT)).one()


# The task clocks' statements. Planned timers arrive as (task id, version, timers); the sync
# ones run in a routing session's before_commit hook (timers.ClockKeeper), hence `Session`.


class PlannedTimer(Protocol):
    @property
    def stage(self) -> Stage: ...
    @property
    def action(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def ref(self) -> str: ...


Planned = Sequence[tuple[uuid.UUID, int, Sequence[PlannedTimer]]]

_UPSERT_TIMERS = text(
    """
    INSERT INTO routing.deadlines (task_id, stage, action, ref, due_at, fence)
    SELECT * FROM unnest(
        CAST(:task_ids AS uuid[]), CAST(:stages AS text[]), CAST(:actions AS text[]),
        CAST(:refs AS text[]), CAST(:due_at AS timestamptz[]), CAST(:fences AS int[]))
    ON CONFLICT (task_id, stage, action, ref)
    DO UPDATE SET due_at = EXCLUDED.due_at, fence = EXCLUDED.fence
    """
)

_DROP_UNPLANNED = text(
    """
    DELETE FROM routing.deadlines AS d
    USING unnest(CAST(:ids AS uuid[]), CAST(:versions AS int[])) AS u(id, version)
    WHERE d.task_id = u.id AND d.fence < u.version
    """
)


def _upsert_timers(planned: Planned) -> tuple[TextClause, dict[str, Any]]:
    """Write the timers (or re-fence them in place) under their task's version."""
    rows = [(task_id, version, t) for task_id, version, timers in planned for t in timers]
    return _UPSERT_TIMERS, {
        "task_ids": [task_id for task_id, _, _ in rows],
        "stages": [t.stage.value for _, _, t in rows],
        "actions": [t.action for _, _, t in rows],
        "refs": [t.ref for _, _, t in rows],
        "due_at": [t.due_at for _, _, t in rows],
        "fences": [version for _, version, _ in rows],
    }


async def upsert_timers(session: AsyncSession | AsyncConnection, planned: Planned) -> None:
    await session.execute(*_upsert_timers(planned))


def rearm_timers(session: Session, planned: Planned) -> None:
    """Set each (task, version)'s timers to the planned ones: planned timers are written under
    the version; every other timer of the task goes."""
    session.execute(*_upsert_timers(planned))
    drop = {"ids": [p[0] for p in planned], "versions": [p[1] for p in planned]}
    session.execute(_DROP_UNPLANNED, drop)


def open_summons_of(
    session: Session, task_ids: list[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID, datetime]]:
    """(summons id, task id, arrive by) of the tasks' summons neither arrived nor missed."""
    query = select(Summons.id, Summons.task_id, Summons.arrive_by).where(
        Summons.task_id.in_(task_ids), Summons.arrived_at.is_(None), Summons.missed_at.is_(None)
    )
    return [
        (summons_id, task_id, arrive_by)
        for summons_id, task_id, arrive_by in session.execute(query)
    ]


def missed_arrival_awaited(session: Session, task_id: uuid.UUID) -> bool:
    """A missed summons of the task's current escalation (or a climb of it) has no arrival yet;
    one missed before an earlier escalation was resolved is not this escalation's."""
    resolved = (
        select(func.max(Escalation.closed_at))
        .where(Escalation.task_id == task_id, Escalation.state == "resolved")
        .scalar_subquery()
    )
    awaited = select(Summons.id).where(
        Summons.task_id == task_id,
        Summons.missed_at.is_not(None),
        Summons.arrived_at.is_(None),
        or_(resolved.is_(None), Summons.missed_at > resolved),
    )
    return session.execute(awaited.limit(1)).first() is not None


def resolve_escalation(
    session: Session, escalation_id: uuid.UUID, *, now: datetime, by: str, reason: str
) -> None:
    session.execute(
        update(escalations)
        .where(Escalation.id == escalation_id, Escalation.state == "open")
        .values(state="resolved", closed_at=now, closed_by=by, closed_reason=reason)
    )
