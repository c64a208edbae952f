"""What feedback learns from the front desk and the citizen's own acts: a desk answer opens a
callback like any reply, a merged contact's citizen gets the phone fact its callback needs,
praise and withdrawals (撤诉) are counted for their department."""

from __future__ import annotations

import structlog

from contracts.events import (
    DESK_DEPARTMENT_ID,
    DESK_DEPARTMENT_NAME,
    DemandAnsweredAtDesk,
    DemandMergedAtDesk,
    DemandStatus,
    DemandStatusChanged,
    DepartmentPraised,
    RoutedDemandSupplemented,
    RoutedDemandWithdrawn,
)
from services.feedback import rates
from services.feedback.models import DemandFact, PraiseFact, WithdrawalFact
from services.feedback.repository import counters, facts
from services.feedback.service.callbacks import CallbackPolicy, open_callback
from services.runtime.kafka import Delivery

log = structlog.get_logger(__name__)

# The matter a desk answer counts under in the hot spots when the operator named none.
DESK_MATTER = "desk-consultation"


class DeskFacts:
    """The handlers of the desk's events, sharing the callback policy."""

    def __init__(self, policy: CallbackPolicy) -> None:
        self.policy = policy

    async def on_answered(self, delivery: Delivery, event: DemandAnsweredAtDesk) -> None:
        """The answer is a reply by the 12345 centre: the citizen is asked to evaluate it."""
        await facts.put_demand_fact(
            delivery.session,
            DemandFact(
                demand_id=event.demand_id,
                matter_code=event.matter_code or DESK_MATTER,
                unit_code=event.unit_code or self.policy.lists.city_code,
                classified_at=event.occurred_at,
                citizen_phone=event.citizen.phone,
            ),
        )
        reply = DemandStatusChanged(
            demand_id=event.demand_id,
            occurred_at=event.occurred_at,
            status=DemandStatus.replied,
            department_id=DESK_DEPARTMENT_ID,
            department_name=DESK_DEPARTMENT_NAME,
            note=event.answer,
        )
        await open_callback(delivery.session, delivery.outbox, self.policy, reply)

    async def on_merged(self, delivery: Delivery, event: DemandMergedAtDesk) -> None:
        """The merged contact's citizen is asked when the demand it follows is replied: the
        phone is kept for that, under the matter and place of the demand it follows."""
        into = await facts.get_demand_fact(delivery.session, event.into_demand_id)
        await facts.put_demand_fact(
            delivery.session,
            DemandFact(
                demand_id=event.demand_id,
                matter_code=into.matter_code if into else DESK_MATTER,
                unit_code=into.unit_code if into else self.policy.lists.city_code,
                classified_at=event.occurred_at,
                citizen_phone=event.citizen.phone,
            ),
        )

    async def on_praised(self, delivery: Delivery, event: DepartmentPraised) -> None:
        praise = PraiseFact(
            event_id=str(delivery.envelope.id),
            demand_id=event.demand_id,
            department_id=event.department_id,
            department_name=event.department_name,
            unit_code=event.unit_code,
            praised_at=event.occurred_at,
        )
        facts.add_fact(delivery.session, praise)
        await counters.add(
            delivery.session,
            rates.praise_counts(praise, self.policy.lists.calendar.zone),
            department_name=event.department_name,
            unit_code=event.unit_code,
        )
        log.info("praise counted", department_id=event.department_id)

    async def on_withdrawn(self, delivery: Delivery, event: RoutedDemandWithdrawn) -> None:
        lead = await facts.lead_task_fact(delivery.session, event.demand_id)
        if lead is None:
            log.warning("withdrawal before the lead task's assignment: not counted")
            return
        withdrawal = WithdrawalFact(
            event_id=str(delivery.envelope.id),
            demand_id=event.demand_id,
            department_id=lead.department_id,
            department_name=lead.department_name,
            unit_code=lead.unit_code,
            withdrawn_at=event.occurred_at,
        )
        facts.add_fact(delivery.session, withdrawal)
        await counters.add(
            delivery.session,
            rates.withdrawal_counts(withdrawal, self.policy.lists.calendar.zone),
            department_name=lead.department_name,
            unit_code=lead.unit_code,
        )

    async def on_supplemented(self, _delivery: Delivery, _event: RoutedDemandSupplemented) -> None:
        return None  # the addition is the lead department's to read: no fact changes
