"""A citizen's withdrawal (撤诉) or addition (补充) as classification sees it: a demand still in
the triage queue takes it there; a routed one passes it on to routing, keyed like its
classification so routing reads it after the tasks exist."""

from __future__ import annotations

import structlog

from contracts.events import (
    DemandSupplemented,
    DemandWithdrawn,
    RoutedDemandSupplemented,
    RoutedDemandWithdrawn,
)
from services.classification import repository
from services.runtime.kafka import Delivery

log = structlog.get_logger(__name__)

WITHDRAWN = "withdrawn"


async def withdraw(delivery: Delivery, event: DemandWithdrawn) -> None:
    item = await repository.lock_triage_item(delivery.session, event.demand_id)
    if item is not None and item.state == "pending":
        item.state = WITHDRAWN  # leaves the queue: nobody is to decide it any more
        item.decided_by = "citizen"
        item.decided_at = event.occurred_at
        return
    unit = await repository.routed_unit(delivery.session, event.demand_id)
    if unit is None:
        log.info("withdrawal of a demand not routed: nothing to pass on")
        return
    await delivery.outbox.put(
        delivery.session,
        RoutedDemandWithdrawn(
            demand_id=event.demand_id,
            occurred_at=event.occurred_at,
            unit_code=unit,
            reason=event.reason,
        ),
    )


async def supplement(delivery: Delivery, event: DemandSupplemented) -> None:
    item = await repository.lock_triage_item(delivery.session, event.demand_id)
    if item is not None and item.state == "pending":
        item.content = f"{item.content}\n【补充】{event.text}"  # the operator reads it too
        return
    unit = await repository.routed_unit(delivery.session, event.demand_id)
    if unit is None:
        log.warning("addition to a demand neither queued nor routed kept in the event only")
        return
    await delivery.outbox.put(
        delivery.session,
        RoutedDemandSupplemented(
            demand_id=event.demand_id,
            occurred_at=event.occurred_at,
            unit_code=unit,
            text=event.text,
        ),
    )
