"""Classification consumes `demand.received` and answers with `demand.classified`, or sends the
demand to triage when the matter or the unit is not certain enough to route on."""

from __future__ import annotations

from typing import Any

import structlog

from contracts.events import (
    DemandReceived,
    DemandStatus,
    DemandStatusChanged,
    DemandSupplemented,
    DemandTriaged,
    DemandWithdrawn,
    Event,
)
from contracts.lists import Lists, Matter
from services.classification import citizen_acts, repository, rules
from services.classification.classifier import Classifier, Decision, Undecided
from services.classification.exits import propose_exits
from services.classification.models import Classification, TriageItem
from services.classification.routing_model import Route, Router
from services.classification.service import Answer, publish_classified
from services.runtime.kafka import BatchDelivery, BatchHandler, Delivery, Handler
from services.runtime.logging import mask_text
from services.runtime.masking import citizens_in_hand, mask_known

log = structlog.get_logger(__name__)


def make_batch_handlers(
    lists: Lists,
    classifier: Classifier,
    router: Router | None = None,
    /,
    *,
    matter_threshold: float,
    unit_threshold: float,
) -> dict[type[Event], BatchHandler]:
    """A batch of received demands in one call: the category model weighs all their texts at
    once (one sparse product instead of one per text), then each demand goes on its way. With a
    `router` that has a department-type model, the matter, the level and the department come
    from `Router.route_many`, the decision `liandong route` makes."""

    async def classify_demands(delivery: BatchDelivery, events: list[DemandReceived]) -> None:
        names = [event.citizen.name for event in events]
        with citizens_in_hand(names, [event.location.address for event in events]):
            await _classify_demands(delivery, events)

    async def _classify_demands(delivery: BatchDelivery, events: list[DemandReceived]) -> None:
        if router is not None and router.model is not None:
            await _route_demands(delivery, events, router, unit_threshold=unit_threshold)
            return
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
    lists: Lists,
    classifier: Classifier,
    router: Router | None = None,
    /,
    *,
    matter_threshold: float,
    unit_threshold: float,
) -> dict[type[Event], Handler]:
    classify_batch = make_batch_handlers(
        lists,
        classifier,
        router,
        matter_threshold=matter_threshold,
        unit_threshold=unit_threshold,
    )[DemandReceived]

    async def classify_demand(delivery: Delivery, event: DemandReceived) -> None:
        await classify_batch(
            BatchDelivery(delivery.session, delivery.outbox, delivery.clock), [event]
        )

    return {
        DemandReceived: classify_demand,
        DemandWithdrawn: citizen_acts.withdraw,
        DemandSupplemented: citizen_acts.supplement,
    }


def routing_unit(lists: Lists, event: DemandReceived) -> tuple[rules.UnitAnswer | None, str]:
    """The unit a demand is decided on, and the unit the decision is made for: the located
    unit, or (none located) the lists' first community, so the decision still has every level
    on its chain; such a demand goes to triage whatever the decision."""
    from services.classification.route_file import placeholder_unit

    try:
        unit = rules.locate(lists, event.location)
    except rules.NotConfident:
        return None, placeholder_unit(lists)
    return unit, unit.unit.code


async def _route_demands(
    delivery: BatchDelivery,
    events: list[DemandReceived],
    router: Router,
    *,
    unit_threshold: float,
) -> None:
    """The batch through `Router.route_many` (its own threshold: the department type's
    calibrated chance), then each demand on its way."""
    lists = router.lists
    units = [routing_unit(lists, event) for event in events]
    routes = router.route_many(
        [event.content for event in events],
        [code for _, code in units],
        chosen=[event.matter_code for event in events],
    )
    for event, (unit, _), route in zip(events, units, routes, strict=True):
        await _routed(delivery, event, route, unit, lists=lists, unit_threshold=unit_threshold)


def _proposals(route: Route) -> list[dict[str, Any]]:
    """The top three ways to route, with their evidence, for the triage operator."""
    return [
        {
            "matter": p.matter,
            "level": p.level,
            "department_type": p.department_type,
            "probability": p.probability,
            "evidence": p.rule,
        }
        for p in route.proposals
    ]


async def _routed(
    delivery: BatchDelivery,
    event: DemandReceived,
    route: Route,
    unit: rules.UnitAnswer | None,
    *,
    lists: Lists,
    unit_threshold: float,
) -> None:
    """One demand after `Router.route_many`: `demand.classified`, or triage with the reason and
    the top three proposals."""
    suggestions: dict[str, Any] = {
        "matter": route.matter.code if route.matter else None,
        "confidence": route.confidence,
        "categories": route.categories[:3],
        "proposals": _proposals(route),
    }
    reason = route.reason
    if unit is None:
        try:
            rules.locate(lists, event.location)
        except rules.NotConfident as exc:
            reason = str(exc)
    else:
        suggestions["unit"] = unit.unit.code
        if reason is None and unit.confidence < unit_threshold:
            reason = (
                f"unit {unit.unit.code} ({unit.how}) confidence {unit.confidence:.2f} "
                f"is below {unit_threshold:.2f}"
            )
    if route.triage and reason is None:
        reason = "no matter of the lists fits"
    if reason is not None or unit is None or route.matter is None:
        certain = not route.triage and route.matter is not None
        await send_to_triage(
            delivery,
            event,
            reason=reason or "no unit",
            suggestions=suggestions,
            lists=lists,
            matter=route.matter if certain else None,
        )
        return
    matter = route.matter
    urgency, cue = rules.urgency_of(event.content, matter)
    rule = f"{route.rule}; unit:{unit.how}" + (f"; critical cue:{cue}" if cue else "")
    if route.truncated:
        rule += "; text cut at the length limit"
    await publish_classified(
        delivery.session,
        delivery.outbox,
        Answer(
            demand_id=event.demand_id,
            matter=matter,
            demand_type=rules.demand_type_of(event.demand_type, matter),
            urgency=urgency,
            unit_code=unit.unit.code,
            confidence=round(min(route.confidence, unit.confidence), 3),
            rule=rule,
            content=event.content,
            address=event.location.address,
            citizen=event.citizen,
            level=route.level if route.level is not matter.handling_level else None,
        ),
        lists=lists,
        now=delivery.clock.now(),
    )
    log.info("demand routed", matter=matter.code, unit=unit.unit.code, urgency=urgency)


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
    # The desk exits that fit (praise, a consultation, an invalid contact), likeliest first.
    exits = propose_exits(event.content, event.demand_type)
    suggestions = suggestions | {"exits": [proposal.as_suggestion() for proposal in exits]}
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
            # The triage desk reads the citizen's contact from the queue's API, not the topic.
            content=mask_known(mask_text(event.content), [event.citizen.name or ""]),
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
