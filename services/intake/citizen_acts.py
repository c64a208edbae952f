"""A citizen's own acts with the tracking token: withdraw the demand (撤诉), add to it (补充).
Each commits the demand's timeline and its event in one transaction."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import DemandStatus, DemandSupplemented, DemandWithdrawn
from services.intake import repository
from services.intake.models import Demand, TimelineEntry
from services.runtime.service import Runtime

log = structlog.get_logger(__name__)

WITHDRAWN_NOTE = "您已撤回该诉求（撤诉），诉求已办结归档。"
# Past these a withdrawal would undo a reply the citizen is asked to evaluate, or a closed case.
_FINISHED = frozenset({DemandStatus.replied.value, DemandStatus.closed.value})


class NoSuchDemand(LookupError):
    """No demand with this id (the token was checked before)."""


class DemandFinished(Exception):
    """The demand was replied or closed: it can no longer be withdrawn or added to."""


async def _locked_open(session: AsyncSession, demand_id: uuid.UUID) -> Demand:
    demand = await repository.lock_demand(session, demand_id)
    if demand is None:
        raise NoSuchDemand("no demand with this id and token")
    if demand.status in _FINISHED:
        raise DemandFinished(f"the demand is {demand.status}: it can no longer change")
    return demand


async def withdraw_demand(runtime: Runtime, demand_id: uuid.UUID, *, reason: str | None) -> Demand:
    """撤诉: the demand closes at once for the citizen; routing withdraws its open tasks."""
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        demand = await _locked_open(session, demand_id)
        demand.status = DemandStatus.closed.value
        demand.updated_at = max(now, demand.updated_at)
        demand.expected_reply_at = None
        await repository.add_timeline_entry(
            session,
            TimelineEntry(
                demand_id=demand.id,
                status=DemandStatus.closed.value,
                department_name=None,
                note=WITHDRAWN_NOTE,
                occurred_at=now,
            ),
        )
        await runtime.outbox.put(
            session, DemandWithdrawn(demand_id=demand.id, occurred_at=now, reason=reason)
        )
    runtime.outbox.notify()
    log.info("demand withdrawn by the citizen")
    return demand


async def supplement_demand(runtime: Runtime, demand_id: uuid.UUID, *, text: str) -> Demand:
    """补充: the addition joins the demand's timeline and goes to the lead department."""
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        demand = await _locked_open(session, demand_id)
        await repository.add_timeline_entry(
            session,
            TimelineEntry(
                demand_id=demand.id,
                status=demand.status,
                department_name=None,
                note=f"补充：{text}",
                occurred_at=now,
            ),
        )
        await runtime.outbox.put(
            session, DemandSupplemented(demand_id=demand.id, occurred_at=now, text=text)
        )
    runtime.outbox.notify()
    return demand
