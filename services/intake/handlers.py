"""Intake keeps the citizen-visible status and timeline from `demand.status`."""

from __future__ import annotations

import structlog

from contracts.events import DemandStatus, DemandStatusChanged, Event
from services.intake import repository
from services.intake.models import TimelineEntry
from services.runtime.kafka import Delivery, Handler

log = structlog.get_logger(__name__)


async def record_status(delivery: Delivery, event: DemandStatusChanged) -> None:
    demand = await repository.lock_demand(delivery.session, event.demand_id)
    if demand is None:
        # Not fatal: the status stream may carry demands from another intake deployment.
        log.warning("status for an unknown demand ignored")
        return
    if demand.status == DemandStatus.closed.value:
        # Closed is final: a later status (the task a merged demand followed was redone and
        # replied again, or an event re-sent) must not reopen it.
        log.info("status for a closed demand ignored", status=event.status.value)
        return
    await repository.add_timeline_entry(
        delivery.session,
        TimelineEntry(
            demand_id=demand.id,
            status=event.status.value,
            department_name=event.department_name,
            note=event.note,
            occurred_at=event.occurred_at,
        ),
    )
    # Events of one demand share a partition, so they arrive in order; the guard still keeps
    # the newest status if a producer ever re-sends an older event.
    if event.occurred_at >= demand.updated_at:
        demand.status = event.status.value
        demand.updated_at = event.occurred_at
        if event.status is DemandStatus.triage:
            # Nobody handles it while an operator or a coordinator decides who will (a dispute
            # follows the returns of the departments that had it): no department, no deadline.
            demand.department_name = None
            demand.expected_reply_at = None
        if event.department_name:
            demand.department_name = event.department_name
        if event.expected_reply_at is not None:
            demand.expected_reply_at = event.expected_reply_at


HANDLERS: dict[type[Event], Handler] = {
    DemandStatusChanged: record_status,
}
