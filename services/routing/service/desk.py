"""Contacts the front desk closed without a task: a merged contact follows the demand it
repeats (合并办理), as a duplicate found at dispatch does; an answered one needs nothing here."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    DemandMergedAtDesk,
    DemandStatus,
    DemandStatusChanged,
    DemandType,
    TaskRole,
    Urgency,
)
from services.routing import repository
from services.routing.service.duplicates import LeadRef, link_duplicate
from services.routing.service.tasks import DemandFacts
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)

_OPEN = ("assigned", "signed", "contacted")


async def merge_at_desk(
    session: AsyncSession, outbox: Outbox, event: DemandMergedAtDesk, *, now: datetime
) -> None:
    """Link the contact to the open lead task of the demand it repeats; when that demand has
    none open (replied or closed since the operator looked), the contact closes, saying so."""
    tasks = await repository.lock_tasks_of_demand(session, event.into_demand_id)
    lead = next(
        (t for t in tasks if t.role == TaskRole.lead.value and t.state in _OPEN),
        None,
    )
    if lead is None:
        log.info("merged contact closed: its demand has no open lead task")
        await outbox.put(
            session,
            DemandStatusChanged(
                demand_id=event.demand_id,
                occurred_at=now,
                status=DemandStatus.closed,
                note="您反映的问题已有同类诉求办理完毕，本次来电合并归档。",
            ),
        )
        return
    facts = DemandFacts(
        event.demand_id,
        lead.matter_code,
        DemandType(lead.demand_type),
        Urgency(lead.urgency),
        lead.demand_unit_code,
        event.content,
        lead.address,
        event.citizen,
    )
    await link_duplicate(session, outbox, facts, LeadRef.of(lead), 1.0, now=now)
