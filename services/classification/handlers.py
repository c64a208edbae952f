"""Classification consumes `demand.received` and answers with `demand.classified` or triage."""

from __future__ import annotations

import structlog

from contracts.events import (
    DemandClassified,
    DemandReceived,
    DemandStatus,
    DemandStatusChanged,
    DemandTriaged,
    Event,
)
from contracts.lists import Lists
from services.classification import rules
from services.classification.models import Classification
from services.runtime.kafka import Delivery, Handler

log = structlog.get_logger(__name__)


def make_handlers(lists: Lists) -> dict[type[Event], Handler]:
    async def classify_demand(delivery: Delivery, event: DemandReceived) -> None:
        now = delivery.clock.now()
        try:
            matter = rules.classify_matter(lists, event.content)
            unit = rules.locate(lists, event.location)
        except rules.NotConfident as exc:
            await _send_to_triage(delivery, event, reason=str(exc), lists=lists)
            return
        urgency, cue = rules.urgency_of(event.content, matter.matter)
        demand_type = rules.demand_type_of(event.demand_type, matter.matter)
        rule = f"{matter.rule}; unit:{unit.how}" + (f"; critical cue:{cue}" if cue else "")
        confidence = round(min(matter.confidence, unit.confidence), 3)
        delivery.session.add(
            Classification(
                demand_id=event.demand_id,
                outcome="classified",
                matter_code=matter.matter.code,
                demand_type=demand_type.value,
                urgency=urgency.value,
                unit_code=unit.unit.code,
                confidence=confidence,
                rule=rule,
                reason=None,
                lists_version=lists.version,
                classified_at=now,
            )
        )
        await delivery.outbox.put(
            delivery.session,
            DemandClassified(
                demand_id=event.demand_id,
                occurred_at=now,
                matter_code=matter.matter.code,
                demand_type=demand_type,
                urgency=urgency,
                unit_code=unit.unit.code,
                confidence=confidence,
                rule=rule,
                content=event.content,
                address=event.location.address,
                citizen=event.citizen,
            ),
        )
        log.info(
            "demand classified", matter=matter.matter.code, unit=unit.unit.code, urgency=urgency
        )

    return {DemandReceived: classify_demand}


async def _send_to_triage(
    delivery: Delivery, event: DemandReceived, *, reason: str, lists: Lists
) -> None:
    now = delivery.clock.now()
    delivery.session.add(
        Classification(
            demand_id=event.demand_id,
            outcome="triage",
            matter_code=None,
            demand_type=event.demand_type.value if event.demand_type else None,
            urgency=None,
            unit_code=event.location.unit_code,
            confidence=0.0,
            rule="keyword rules",
            reason=reason,
            lists_version=lists.version,
            classified_at=now,
        )
    )
    await delivery.outbox.put(
        delivery.session,
        DemandTriaged(
            demand_id=event.demand_id,
            occurred_at=now,
            reason=reason,
            content=event.content,
            location=event.location,
        ),
    )
    await delivery.outbox.put(
        delivery.session,
        DemandStatusChanged(
            demand_id=event.demand_id,
            occurred_at=now,
            status=DemandStatus.triage,
            note="您的诉求已转人工分拨，请耐心等待。",
        ),
    )
    log.info("demand sent to triage", reason=reason)
