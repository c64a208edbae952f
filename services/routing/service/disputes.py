"""Disputes (争议) and a coordinator's ruling (裁定) of who leads.

A dispute opens when nobody owns a demand or departments returned it too often."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    DemandStatus,
    DemandStatusChanged,
    DisputeOpened,
    DisputeRuled,
    TaskRole,
)
from contracts.jurisdiction import chain_of, level_of
from contracts.lists import Lists
from services.routing import repository
from services.routing.deadlines import working_clock
from services.routing.models import (
    Dispute,
    Ruling,
    Task,
)
from services.routing.service.acts import CoordinatorAct
from services.routing.service.coordinators import (
    coordinator_act_by,
    department_within,
    within_jurisdiction,
)
from services.routing.service.duplicates import links_follow
from services.routing.service.errors import AlreadyRuled, DisputeNotFound, OutsideJurisdiction
from services.routing.service.law import Citation, legal_basis
from services.routing.service.tasks import (
    DISPUTE_NOTE,
    Assignment,
    DemandFacts,
    create_task,
    note_action,
    withdraw,
)
from services.routing.state import (
    TaskState,
)
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)


def coordinator_for_no_owner(lists: Lists, facts: DemandFacts) -> str:
    """The coordinator above the handling level on the demand's chain; when the demand's unit
    lies above that level (a district named, a street matter), the unit's own coordinator."""
    matter = lists.matters_by_code.get(facts.matter_code)
    chain = chain_of(facts.demand_unit_code)
    if matter is not None:
        for index, code in enumerate(chain):
            if level_of(code) is matter.handling_level:
                return chain[min(index + 1, len(chain) - 1)]
    return chain[0]


@dataclass(frozen=True, slots=True)
class DisputeToOpen:
    """Why a demand goes to a coordinator to rule: the departments that returned it (none when
    nobody owns it), the reason, and what the citizen is told meanwhile."""

    coordinator_unit: str
    returned_by: list[str]
    reason: str
    note: str = DISPUTE_NOTE


async def open_dispute(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    facts: DemandFacts,
    dispute_to_open: DisputeToOpen,
    *,
    now: datetime,
) -> Dispute:
    # A dispute keeps the demand's facts, its urgency too: the coordinators' time to rule runs
    # the way the demand's limits do.
    working = working_clock(lists, matter_code=facts.matter_code, urgency=facts.urgency)
    dispute = Dispute(
        id=uuid.uuid4(),
        demand_id=facts.demand_id,
        coordinator_unit_code=dispute_to_open.coordinator_unit,
        state="open",
        reason=dispute_to_open.reason,
        returned_by=",".join(dispute_to_open.returned_by),
        created_at=now,
        facts=facts.to_json(),
        act_by=coordinator_act_by(session, now, working_clock=working),
        supervised=False,
        working_clock=working,
    )
    session.add(dispute)
    await outbox.put(
        session,
        DisputeOpened(
            demand_id=facts.demand_id,
            occurred_at=now,
            dispute_id=dispute.id,
            coordinator_unit_code=dispute_to_open.coordinator_unit,
            matter_code=facts.matter_code,
            demand_unit_code=facts.demand_unit_code,
            returned_by=dispute_to_open.returned_by,
            reason=dispute_to_open.reason,
        ),
    )
    await outbox.put(
        session,
        DemandStatusChanged(
            demand_id=facts.demand_id,
            occurred_at=now,
            status=DemandStatus.triage,
            note=dispute_to_open.note,
        ),
    )
    log.warning(
        "dispute opened",
        dispute_id=str(dispute.id),
        coordinator_unit=dispute_to_open.coordinator_unit,
        reason=dispute_to_open.reason,
    )
    return dispute


async def rule_dispute(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    dispute_id: uuid.UUID,
    *,
    act: CoordinatorAct,
    lead_department_id: str,
    co_handler_department_ids: list[str],
    citation: Citation | None = None,
) -> Task:
    """裁定: the coordinator names the lead and co-handlers, citing the legal basis; the ruling
    is final for the task and kept in `rulings`, which the database keeps append-only."""
    dispute = await repository.lock_dispute(session, dispute_id)
    if dispute is None:
        raise DisputeNotFound(str(dispute_id))
    if not within_jurisdiction(act.coordinator_unit, dispute.coordinator_unit_code):
        raise OutsideJurisdiction(
            f"dispute {dispute_id} is at unit {dispute.coordinator_unit_code}"
        )
    if dispute.state != "open":
        raise AlreadyRuled(f"the dispute was already ruled by {dispute.ruled_by}")
    named = list(dict.fromkeys([lead_department_id, *co_handler_department_ids]))  # no repeats
    departments = [
        department_within(lists, d, coordinator_unit=act.coordinator_unit) for d in named
    ]
    tasks = await repository.lock_tasks_of_demand(session, dispute.demand_id)
    if dispute.facts:
        facts = DemandFacts.of_json(dispute.facts)
    else:  # a dispute opened before the facts were kept on it
        last = max((t for t in tasks if t.role == TaskRole.lead.value), key=lambda t: t.updated_at)
        facts = DemandFacts.of_task(last)
    citation = citation or Citation()
    basis = legal_basis(lists, facts.matter_code, citation, what="a ruling")
    rule = f"arbitration:{dispute.id} by {act.actor}"
    live = {
        (t.department_id, t.role): t
        for t in tasks
        if t.state not in (TaskState.returned.value, TaskState.superseded.value)
    }
    earlier_co = live.get((departments[0].id, TaskRole.co_handler.value))
    if earlier_co is not None:  # the ruled lead's co-handler task gives way to its lead task
        await withdraw(
            session, outbox, earlier_co, actor=act.actor, reason="ruled the lead", now=act.now
        )
    lead = await create_task(
        session,
        outbox,
        lists,
        facts,
        Assignment(department=departments[0], role=TaskRole.lead, rule=rule, final=True),
        now=act.now,
    )
    await links_follow(session, outbox, dispute.demand_id, lead, now=act.now)
    note_action(
        session, lead, "ruling", actor=act.actor, reason=f"legal basis: {basis}", now=act.now
    )
    for department in departments[1:]:
        if (department.id, TaskRole.co_handler.value) in live:
            continue  # already co-handling this demand
        await create_task(
            session,
            outbox,
            lists,
            facts,
            Assignment(department=department, role=TaskRole.co_handler, rule=rule, final=True),
            now=act.now,
        )
    dispute.state = "ruled"
    dispute.act_by = None
    dispute.ruled_by = act.actor
    dispute.ruled_at = act.now
    dispute.ruling = ",".join(d.id for d in departments)
    session.add(
        Ruling(
            id=uuid.uuid4(),
            dispute_id=dispute.id,
            demand_id=dispute.demand_id,
            coordinator_unit_code=dispute.coordinator_unit_code,
            ruled_by=act.actor,
            ruled_at=act.now,
            lead_department_id=departments[0].id,
            co_handler_department_ids=[d.id for d in departments[1:]],
            legal_basis=basis,
            reason=citation.reason,
        )
    )
    await outbox.put(
        session,
        DisputeRuled(
            demand_id=dispute.demand_id,
            occurred_at=act.now,
            dispute_id=dispute.id,
            coordinator_unit_code=dispute.coordinator_unit_code,
            lead_department_id=departments[0].id,
            co_handler_department_ids=[d.id for d in departments[1:]],
            ruled_by=act.actor,
        ),
    )
    return lead
