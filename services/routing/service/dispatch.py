"""Dispatch (直派): a classified demand becomes its lead and co-handler tasks.

A demand alike an open one joins its task instead; one nobody owns goes to a coordinator
as a dispute."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    DemandClassified,
    TaskRole,
)
from contracts.lists import Lists, LocatedAboveHandlingLevel, NoOwner
from services.routing import repository
from services.routing.models import (
    Task,
)
from services.routing.service.acts import CoordinatorAct
from services.routing.service.coordinators import within_jurisdiction
from services.routing.service.disputes import (
    DisputeToOpen,
    coordinator_for_no_owner,
    open_dispute,
)
from services.routing.service.duplicates import (
    DuplicatePolicy,
    LeadRef,
    link_duplicate,
    open_duplicate,
)
from services.routing.service.errors import InvalidRuling, OutsideJurisdiction, TaskNotFound
from services.routing.service.tasks import (
    NO_OWNER_NOTE,
    PLACE_UNCERTAIN_NOTE,
    DemandFacts,
    NewTasks,
    note_action,
)
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)


async def dispatch_demand(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    event: DemandClassified,
    *,
    now: datetime,
    duplicates: DuplicatePolicy | None = None,
) -> Task | None:
    """One lead task and one task per co-handler, each on its department's chain topic (直派);
    a duplicate of an open demand joins its task instead."""
    (lead_id,) = await dispatch_demands(
        session, outbox, lists, [event], now=now, duplicates=duplicates
    )
    return None if lead_id is None else await repository.get_task(session, lead_id)


async def dispatch_demands(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    events: Sequence[DemandClassified],
    *,
    now: datetime,
    duplicates: DuplicatePolicy | None = None,
) -> list[uuid.UUID | None]:
    """`dispatch_demand` for each event in order: the open lead tasks a demand could duplicate
    are read in one query for the batch (a demand can also join a task an earlier demand of
    the batch created), and the new tasks are written set-based. Returns each demand's lead
    task id (None for a dispute)."""
    return await dispatch_facts(
        session, outbox, lists, [DemandFacts.of_event(e) for e in events], now, duplicates
    )


async def dispatch_facts(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    batch: list[DemandFacts],
    now: datetime,
    duplicates: DuplicatePolicy | None,
) -> list[uuid.UUID | None]:
    open_leads: dict[tuple[str, str], list[LeadRef]] = {}
    if duplicates is not None:
        for task in await repository.open_lead_tasks(
            session,
            places={(facts.matter_code, facts.demand_unit_code) for facts in batch},
            since=now - duplicates.window,
        ):
            place = (task.matter_code, task.demand_unit_code)
            open_leads.setdefault(place, []).append(LeadRef.of(task))
    new = NewTasks()
    leads: list[uuid.UUID | None] = []
    linked = 0
    for facts in batch:
        place = (facts.matter_code, facts.demand_unit_code)
        if duplicates is not None:
            original = await open_duplicate(session, facts, open_leads.get(place, []), duplicates)
            if original is not None:
                await link_duplicate(session, outbox, facts, original[0], original[1], now=now)
                leads.append(original[0].id)
                linked += 1
                continue
        try:
            ownership = lists.owner(facts.matter_code, facts.demand_unit_code, facts.level)
        except NoOwner as exc:
            # Nobody owns it here: a dispute for the coordinator, never a demand without an owner.
            # No department refused it, so the citizen is told what is really happening.
            await open_dispute(
                session,
                outbox,
                lists,
                facts,
                DisputeToOpen(
                    coordinator_unit=coordinator_for_no_owner(lists, facts),
                    returned_by=[],
                    reason=f"no owner: {exc}",
                    note=(
                        PLACE_UNCERTAIN_NOTE
                        if isinstance(exc, LocatedAboveHandlingLevel)
                        else NO_OWNER_NOTE
                    ),
                ),
                now=now,
            )
            leads.append(None)
            continue
        lead = new.add(
            lists, facts, ownership.lead, role=TaskRole.lead, rule=ownership.rule, now=now
        )
        for department in ownership.co_handlers:
            new.add(
                lists, facts, department, role=TaskRole.co_handler, rule=ownership.rule, now=now
            )
        open_leads.setdefault(place, []).append(LeadRef.of_row(lead))
        leads.append(lead["id"])
    await new.write(session, outbox)
    # One line per batch: each task's assignment is in its audit rows and events.
    log.info(
        "demands dispatched",
        demands=len(batch),
        tasks=len(new.rows),
        linked=linked,
        disputes=leads.count(None),
    )
    return leads


async def undo_duplicate(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    link_id: uuid.UUID,
    *,
    act: CoordinatorAct,
) -> Task | None:
    """The coordinator separates a demand that was not a duplicate; it is dispatched on its own."""
    link = await repository.lock_link(session, link_id)
    if link is None:
        raise TaskNotFound(str(link_id))
    task = await repository.lock_task(session, link.task_id)
    assert task is not None  # a foreign key
    if not within_jurisdiction(act.coordinator_unit, task.unit_code):
        raise OutsideJurisdiction(f"the linked task belongs to unit {task.unit_code}")
    if link.state == "closed":
        raise InvalidRuling("the merged demand was already closed by its citizen's evaluation")
    if link.state != "linked":
        raise InvalidRuling("the link was already undone")
    link.state = "undone"
    link.undone_by = act.actor
    link.undone_at = act.now
    note_action(
        session,
        task,
        "unlink-duplicate",
        actor=act.actor,
        reason=f"demand {link.demand_id}",
        now=act.now,
    )
    (lead_id,) = await dispatch_facts(
        session, outbox, lists, [DemandFacts.of_json(link.facts)], act.now, None
    )
    return None if lead_id is None else await repository.get_task(session, lead_id)
