"""Feedback follows `demand.status`: a reply opens the callback that awaits the evaluation."""

from __future__ import annotations

from sqlalchemy import select

from contracts.events import DemandStatus, DemandStatusChanged, Event
from services.feedback.models import Callback
from services.runtime.kafka import Delivery, Handler

AWAITING = "awaiting_evaluation"
EVALUATED = "evaluated"


async def open_callback(delivery: Delivery, event: DemandStatusChanged) -> None:
    if event.status is not DemandStatus.replied:
        return  # other steps of the demand are not feedback's business
    callback = await delivery.session.scalar(
        select(Callback).where(Callback.demand_id == event.demand_id).with_for_update()
    )
    if callback is None:
        delivery.session.add(
            Callback(
                demand_id=event.demand_id,
                state=AWAITING,
                department_id=event.department_id,
                department_name=event.department_name,
                reply_text=event.note,
                replied_at=event.occurred_at,
            )
        )
        return
    # A later reply to the same demand (a redo) asks the citizen again.
    callback.state = AWAITING
    callback.department_id = event.department_id
    callback.department_name = event.department_name
    callback.reply_text = event.note
    callback.replied_at = event.occurred_at


HANDLERS: dict[type[Event], Handler] = {DemandStatusChanged: open_callback}
