"""Routing's Kafka handlers: classified demands become tasks; evaluations (or their absence)
close them, or send the reply back (重办)."""

from __future__ import annotations

from contracts.events import (
    DemandAnsweredAtDesk,
    DemandClassified,
    DemandEvaluated,
    DemandMergedAtDesk,
    DemandNotEvaluated,
    Event,
    RoutedDemandSupplemented,
    RoutedDemandWithdrawn,
)
from contracts.lists import Lists
from services.routing import service
from services.routing.service import citizen_acts, desk
from services.runtime.kafka import BatchDelivery, BatchHandler, Delivery, Handler
from services.runtime.masking import citizens_in_hand


def make_batch_handlers(
    lists: Lists, *, duplicates: service.DuplicatePolicy | None = None
) -> dict[type[Event], BatchHandler]:
    """A batch of classified demands in one call: one duplicate lookup for the batch."""

    async def dispatch_demands(delivery: BatchDelivery, events: list[DemandClassified]) -> None:
        names = [event.citizen.name for event in events]
        with citizens_in_hand(names, [event.address for event in events]):
            await service.dispatch_demands(
                delivery.session,
                delivery.outbox,
                lists,
                events,
                now=delivery.clock.now(),
                duplicates=duplicates,
            )

    return {DemandClassified: dispatch_demands}


def make_handlers(
    lists: Lists, *, duplicates: service.DuplicatePolicy | None = None, max_redos: int = 1
) -> dict[type[Event], Handler]:
    dispatch_batch = make_batch_handlers(lists, duplicates=duplicates)[DemandClassified]

    async def dispatch_demand(delivery: Delivery, event: DemandClassified) -> None:
        # The same code as a batch, of one (it does not load the task back, as
        # `service.dispatch_demand` does for its callers).
        await dispatch_batch(
            BatchDelivery(delivery.session, delivery.outbox, delivery.clock), [event]
        )

    async def close_after_evaluation(delivery: Delivery, event: DemandEvaluated) -> None:
        await service.close_after_evaluation(
            delivery.session,
            delivery.outbox,
            lists,
            event,
            now=delivery.clock.now(),
            max_redos=max_redos,
        )

    async def close_not_evaluated(delivery: Delivery, event: DemandNotEvaluated) -> None:
        await service.close_not_evaluated(
            delivery.session, delivery.outbox, event, now=delivery.clock.now()
        )

    async def merge_at_desk(delivery: Delivery, event: DemandMergedAtDesk) -> None:
        await desk.merge_at_desk(delivery.session, delivery.outbox, event, now=delivery.clock.now())

    async def withdrawn(delivery: Delivery, event: RoutedDemandWithdrawn) -> None:
        await citizen_acts.withdraw_by_citizen(
            delivery.session, delivery.outbox, event, now=delivery.clock.now()
        )

    async def supplemented(delivery: Delivery, event: RoutedDemandSupplemented) -> None:
        await citizen_acts.supplement_lead(
            delivery.session, delivery.outbox, event, now=delivery.clock.now()
        )

    async def answered_at_desk(_delivery: Delivery, _event: DemandAnsweredAtDesk) -> None:
        return None  # closed at the desk: no task; its evaluation finds none and closes nothing

    return {
        DemandClassified: dispatch_demand,
        DemandEvaluated: close_after_evaluation,
        DemandNotEvaluated: close_not_evaluated,
        DemandMergedAtDesk: merge_at_desk,
        DemandAnsweredAtDesk: answered_at_desk,
        RoutedDemandWithdrawn: withdrawn,
        RoutedDemandSupplemented: supplemented,
    }
