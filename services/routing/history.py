"""Coordinators' reassignments (改派) and rulings of disputes (裁定) as dispatch history: each
names the department that should lead a demand, a labelled example for the department-type
model. `liandong model export-labelled --dispatch` writes them as CSV, which `make model` reads
from `services/classification/training/dispatch-*.csv`.

The text is the demand's content with phone and ID numbers masked (personal data, and no help in
telling departments apart); a task whose department the lists no longer know, or whose content is
empty, is skipped and counted, never guessed."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TextIO

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import TaskRole
from contracts.lists import Lists
from services.routing.models import Task
from services.runtime.logging import mask_text

# The rules `assign_by_coordinator` and `rule_dispute` stamp on the lead tasks they create.
REASSIGNED = "reassigned by "
RULED = "arbitration:"
COLUMNS = (
    "id",
    "text",
    "unit_code",
    "department_id",
    "department_type",
    "source",
    "decided_at",
    "matter_code",
)


async def decided_leads(session: AsyncSession, *, since: datetime | None) -> AsyncIterator[Task]:
    """The lead tasks a coordinator chose (by reassignment or by ruling), oldest first, streamed."""
    query = (
        select(Task)
        .where(
            Task.role == TaskRole.lead.value,
            or_(Task.rule.startswith(REASSIGNED), Task.rule.startswith(RULED)),
        )
        .order_by(Task.created_at, Task.id)
    )
    if since is not None:
        query = query.where(Task.created_at >= since)
    async for task in await session.stream_scalars(query.execution_options(yield_per=1000)):
        yield task


async def export_dispatch(
    session: AsyncSession, lists: Lists, out: TextIO, *, since: datetime | None
) -> tuple[int, dict[str, int]]:
    """Write the coordinators' choices (those since `since`, if given) as CSV; returns how many
    rows were written and how many tasks were skipped, by reason."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    departments = lists.departments_by_id
    written = 0
    skipped: dict[str, int] = {}
    async for task in decided_leads(session, since=since):
        text = " ".join(task.content.split())
        department = departments.get(task.department_id)
        if not text or department is None:
            reason = "empty text" if not text else "department unknown to the lists"
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        writer.writerow(
            (
                task.demand_id,
                mask_text(text),
                task.demand_unit_code,
                department.id,
                department.type,
                "ruling" if task.rule.startswith(RULED) else "reassignment",
                task.created_at.isoformat(),
                task.matter_code,
            )
        )
        written += 1
    return written, skipped
