"""The lists of tasks the desks page through: a department's own (GET /v1/tasks), and the open
tasks of a coordinator's jurisdiction by matter, department, stage and lateness, with their
counts (GET /v1/jurisdiction/…). Routing's other SQL is in repository.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import Task
from services.routing.repository import jurisdiction_prefix

OPEN_STATES = ("assigned", "signed", "contacted")


def current_due() -> Any:
    """The deadline of the stage an open task is in: sign, then (lead) first contact, then
    reply; in SQL, so that lateness filters and sorts in the database."""
    return case(
        (Task.state == "assigned", Task.sign_due_at),
        ((Task.state == "signed") & (Task.role == "lead"), Task.first_contact_due_at),
        else_=Task.reply_due_at,
    )


async def tasks_of_department(
    session: AsyncSession,
    department_id: str,
    *,
    state: str | None,
    open_only: bool,
    text: str | None,
    limit: int,
    offset: int,
) -> list[Task]:
    """A department's tasks: newest first, or (open only) the nearest deadline first; `text`
    found in the demand's content or address."""
    query = select(Task).where(Task.department_id == department_id)
    if state is not None:
        query = query.where(Task.state == state)
    elif open_only:
        query = query.where(Task.state.in_(OPEN_STATES))
    if text:
        query = query.where(
            or_(
                Task.content.contains(text, autoescape=True),
                Task.address.contains(text, autoescape=True),
            )
        )
    order = (current_due(), Task.id) if open_only else (Task.created_at.desc(), Task.id)
    page = query.order_by(*order).limit(limit).offset(offset)
    return list((await session.scalars(page)).all())


@dataclass(frozen=True)
class OpenTaskFilter:
    """What a coordinator narrows the open tasks of its jurisdiction to."""

    unit_code: str
    matter_code: str | None = None
    department_id: str | None = None
    state: str | None = None
    late_at: datetime | None = None  # only tasks whose current stage was due before this
    escalated: bool | None = None


async def open_tasks_within(
    session: AsyncSession, where: OpenTaskFilter, *, limit: int, offset: int
) -> tuple[int, list[Task]]:
    """The open tasks of departments at the unit and beneath it, the nearest deadline first,
    and how many match in all."""
    query = select(Task).where(
        Task.unit_code.startswith(jurisdiction_prefix(where.unit_code)),
        Task.state.in_((where.state,) if where.state else OPEN_STATES),
    )
    if where.matter_code:
        query = query.where(Task.matter_code == where.matter_code)
    if where.department_id:
        query = query.where(Task.department_id == where.department_id)
    if where.late_at is not None:
        query = query.where(current_due() < where.late_at)
    if where.escalated is not None:
        held = Task.escalation_id.is_not(None) if where.escalated else Task.escalation_id.is_(None)
        query = query.where(held)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    page = query.order_by(current_due(), Task.id).limit(limit).offset(offset)
    return int(total or 0), list((await session.scalars(page)).all())


async def open_task_counts(session: AsyncSession, unit_code: str, now: datetime) -> dict[str, int]:
    """How many tasks of the jurisdiction are open, late on their current stage, and held by a
    coordinator (escalated): one pass over the open tasks, counted in the database."""
    late = func.count().filter(current_due() < now)
    escalated = func.count().filter(Task.escalation_id.is_not(None))
    row = (
        await session.execute(
            select(func.count(), late, escalated).where(
                Task.unit_code.startswith(jurisdiction_prefix(unit_code)),
                Task.state.in_(OPEN_STATES),
            )
        )
    ).one()
    return {"open": int(row[0]), "late": int(row[1]), "escalated": int(row[2])}
