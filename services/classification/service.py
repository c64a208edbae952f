"""Classification's use cases beside the consumer: record an answer and announce it, and an
operator's decision on a demand in the triage queue (人工分拨)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import Citizen, DemandClassified, DemandType, Urgency
from contracts.jurisdiction import Level
from contracts.lists import Lists, Matter
from services.classification import repository
from services.classification.models import Classification, LabelledExample, TriageItem
from services.classification.rules import urgency_of
from services.runtime.outbox import Outbox
from services.runtime.service import Runtime


@dataclass(frozen=True, slots=True)
class Answer:
    """What a demand was classified as, by the model or an operator, and the demand's own
    words, place and citizen that `demand.classified` carries on to routing."""

    demand_id: Any
    matter: Matter
    demand_type: DemandType
    urgency: Urgency
    unit_code: str
    confidence: float
    rule: str
    content: str
    address: str | None
    citizen: Citizen
    level: Level | None = None  # the power list's level chosen on evidence (not the handling one)


async def publish_classified(
    session: AsyncSession, outbox: Outbox, answer: Answer, *, lists: Lists, now: datetime
) -> None:
    """Record the answer and emit `demand.classified`: the same for the model and an operator
    (whose answer replaces the triage outcome recorded for the demand)."""
    await repository.put_classification(
        session,
        Classification(
            demand_id=answer.demand_id,
            outcome="classified",
            matter_code=answer.matter.code,
            category=answer.matter.category,
            demand_type=answer.demand_type.value,
            urgency=answer.urgency.value,
            unit_code=answer.unit_code,
            confidence=answer.confidence,
            rule=answer.rule[:300],
            reason=None,
            lists_version=lists.version,
            classified_at=now,
        ),
    )
    await outbox.put(
        session,
        DemandClassified(
            demand_id=answer.demand_id,
            occurred_at=now,
            matter_code=answer.matter.code,
            demand_type=answer.demand_type,
            urgency=answer.urgency,
            unit_code=answer.unit_code,
            confidence=answer.confidence,
            rule=answer.rule,
            content=answer.content,
            level=answer.level,
            address=answer.address,
            citizen=answer.citizen,
        ),
    )


class NotInTriage(LookupError):
    """No demand with this id waits or waited in the triage queue."""


class AlreadyClassified(Exception):
    """An operator has already decided this demand: the first decision stands."""


async def classify_by_hand(
    runtime: Runtime,
    demand_id: uuid.UUID,
    *,
    matter: Matter,
    unit_code: str,
    demand_type: DemandType | None,
    urgency: Urgency | None,
    operator: str,
) -> TriageItem:
    """An operator's decision continues the flow exactly as an automatic one (the demand type
    defaults to the citizen's, else the matter's; the urgency to the rules') and is kept as a
    training example."""
    lists = runtime.lists
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        item = await repository.lock_triage_item(session, demand_id)
        if item is None:
            raise NotInTriage("no such demand in triage")
        if item.state != "pending":
            raise AlreadyClassified(f"already classified by {item.decided_by}")
        demand_type = demand_type or (
            DemandType(item.demand_type) if item.demand_type else matter.demand_type
        )
        await publish_classified(
            session,
            runtime.outbox,
            Answer(
                demand_id=demand_id,
                matter=matter,
                demand_type=demand_type,
                urgency=urgency or urgency_of(item.content, matter)[0],
                unit_code=unit_code,
                confidence=1.0,
                rule=f"operator:{operator}",
                content=item.content,
                address=item.address,
                citizen=Citizen(name=item.citizen_name, phone=item.citizen_phone),
            ),
            lists=lists,
            now=now,
        )
        item.state = "classified"
        item.decided_by = operator
        item.decided_at = now
        repository.add_labelled_example(
            session,
            LabelledExample(
                demand_id=demand_id,
                text=item.content,
                matter_code=matter.code,
                category=matter.category,
                unit_code=unit_code,
                decided_by=operator,
                decided_at=now,
            ),
        )
    runtime.outbox.notify()
    return item
