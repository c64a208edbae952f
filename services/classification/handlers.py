"""Classification consumes `demand.received` and answers with `demand.classified`, or sends the
demand to triage when the matter or the unit is not certain enough to route on."""

from __future__ import annotations

from typing import Any

import structlog

from contracts.events import (
    DemandReceived,
    DemandStatus,
    DemandStatusChanged,
    DemandTriaged,
    Event,
)
from contracts.lists import Lists, Matter
from services.classification import repository, rules
from services.classification.classifier import Classifier, Decision, Undecided
from services.classification.models import Classification, TriageItem
from services.classification.service import Answer, publish_classified
from services.runtime.kafka import BatchDelivery, BatchHandler, Delivery, Handler

log = structlog.get_logger(__name__)


def make_batch_handlers(
    lists: Lists, classifier: Classifier, *, matter_threshold: float, unit_threshold: float
) -> dict[type[Event], BatchHandler]:
    """A batch of received demands in one call: the category model weighs all their texts at
    once (one sparse product instead of one per text), then each demand goes on its way."""

    async def classify_demands(delivery: BatchDelivery, events: list[DemandReceived]) -> None:
        answers = classifier.classify_many(
            [event.content for event in events], [event.matter_code for event in events]
        )
        for event, (_, answer) in zip(events, answers, strict=True):
            await _classified(
                delivery,
                event,
                answer,
                lists=lists,
                matter_threshold=matter_threshold,
                unit_threshold=unit_threshold,
            )

    return {DemandReceived: classify_demands}


def make_handlers(
    lists: Lists, classifier: Classifier, *, matter_threshold: float, unit_threshold: float
) -> dict[type[Event], Handler]:
    classify_batch = make_batch_handlers(
        lists, classifier, matter_threshold=matter_threshold, unit_threshold=unit_threshold
    )[DemandReceived]

    async def classify_demand(delivery: Delivery, event: DemandReceived) -> None:
        await classify_batch(
            BatchDelivery(delivery.session, delivery.outbox, delivery.clock), [event]
        )

    return {DemandReceived: classify_demand}


async def _classified(
    delivery: BatchDelivery,
    event: DemandReceived,
    answer: Decision | Undecided,
    *,
    lists: Lists,
    matter_threshold: float,
    unit_threshold: float,
) -> None:
    """One demand after the model: `demand.classified`, or triage with the reason."""
    now = delivery.clock.now()
    suggestions: dict[str, Any] = {}
    try:
        if isinstance(answer, Undecided):
            raise answer
        decision = answer
        suggestions = {
            "matter": decision.matter.code,
            "confidence": decision.confidence,
            "alternatives": decision.alternatives,
            "categories": decision.categories,
        }
        unit = rules.locate(lists, event.location)
        suggestions["unit"] = unit.unit.code
        if decision.confidence < matter_threshold:
            raise rules.NotConfident(
                f"matter {decision.matter.code} confidence {decision.confidence:.2f} "
                f"is below {matter_threshold:.2f}"
            )
        if unit.confidence < unit_threshold:
            raise rules.NotConfident(
                f"unit {unit.unit.code} ({unit.how}) confidence {unit.confidence:.2f} "
                f"is below {unit_threshold:.2f}"
            )
    except Undecided as exc:
        suggestions = {"alternatives": exc.alternatives, "categories": exc.categories}
        await send_to_triage(
            delivery, event, reason=str(exc), suggestions=suggestions, lists=lists, matter=None
        )
        return
    except rules.NotConfident as exc:
        # The matter counts for the queue's urgency only when it was certain (the unit was not).
        certain = isinstance(answer, Decision) and answer.confidence >= matter_threshold
        await send_to_triage(
            delivery,
            event,
            reason=str(exc),
            suggestions=suggestions,
            lists=lists,
            matter=answer.matter if certain and isinstance(answer, Decision) else None,
        )
        return
    urgency, cue = rules.urgency_of(event.content, decision.matter)
    rule = f"{decision.rule}; unit:{unit.how}" + (f"; critical cue:{cue}" if cue else "")
    if decision.truncated:
        rule += "; text cut at the length limit"
    await publish_classified(
        delivery.session,
        delivery.outbox,
        Answer(
            demand_id=event.demand_id,
            matter=decision.matter,
            demand_type=rules.demand_type_of(event.demand_type, decision.matter),
            urgency=urgency,
            unit_code=unit.unit.code,
            confidence=round(min(decision.confidence, unit.confidence), 3),
            rule=rule,
            content=event.content,
            address=event.location.address,
            citizen=event.citizen,
        ),
        lists=lists,
        now=now,
    )
    log.info("demand classified", matter=decision.matter.code, unit=unit.unit.code, urgency=urgency)


async def send_to_triage(
    delivery: BatchDelivery,
    event: DemandReceived,
    *,
    reason: str,
    suggestions: dict[str, Any],
    lists: Lists,
    matter: Matter | None,
) -> None:
    """Queue the demand for an operator, with the urgency the rules give: critical on a cue in
    the text, else the matter's own when `matter` (a certain one) is given, else normal."""
    now = delivery.clock.now()
    urgency, cue = rules.urgency_of(event.content, matter)
    if event.matter_code is not None:  # what the citizen or the operator picked, for the queue
        suggestions = suggestions | {"chosen": event.matter_code}
    repository.add_triage_outcome(
        delivery.session,
        Classification(
            demand_id=event.demand_id,
            outcome="triage",
            matter_code=None,
            category=None,
            demand_type=event.demand_type.value if event.demand_type else None,
            urgency=None,
            unit_code=event.location.unit_code,
            confidence=0.0,
            rule="triage",
            reason=reason,
            lists_version=lists.version,
            classified_at=now,
        ),
        TriageItem(
            demand_id=event.demand_id,
            state="pending",
            reason=reason,
            content=event.content,
            demand_type=event.demand_type.value if event.demand_type else None,
            unit_code=event.location.unit_code,
            address=event.location.address,
            lat=event.location.lat,
            lon=event.location.lon,
            citizen_name=event.citizen.name,
            citizen_phone=event.citizen.phone,
            suggestions=suggestions,
            urgency=urgency.value,
            urgency_cue=cue,
            created_at=now,
        ),
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
    log.info("demand sent to triage", reason=reason, urgency=urgency)
