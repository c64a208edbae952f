"""The desk exits of a triage item (an operator's decision besides classifying by hand): answer
a consultation (直接办结), pass praise on, close an invalid contact, merge into a demand. Each
commits the item's new state, its audit row and its events in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    DESK_DEPARTMENT_NAME,
    Citizen,
    DemandAnsweredAtDesk,
    DemandClosedAsInvalid,
    DemandMergedAtDesk,
    DemandStatus,
    DemandStatusChanged,
    DemandType,
    DepartmentPraised,
    DeskExit,
    Event,
    InvalidReason,
)
from contracts.lists import Department
from services.classification import repository
from services.classification.models import DeskExitRecord, TriageItem
from services.classification.service import AlreadyClassified, NotInTriage
from services.runtime.logging import mask_text
from services.runtime.service import Runtime

_INVALID_NOTES = {
    InvalidReason.spam: "骚扰或广告信息",
    InvalidReason.no_content: "无实质内容",
    InvalidReason.abusive: "含辱骂内容",
    InvalidReason.test: "测试信息",
    InvalidReason.outside_remit: "不属于12345受理范围",
}


class NotAConsultation(ValueError):
    """A knowledge-base answer for a demand its citizen filed as another type."""


class NoSuchDemand(LookupError):
    """The demand to merge into is not one routing handles (unknown, or itself undecided)."""


# Builds the exit for a locked pending item (may refuse it with an exception).
_Decide = Callable[[AsyncSession, TriageItem, datetime], Awaitable["Exit"]]


@dataclass(frozen=True, slots=True)
class Exit:
    """One desk exit: what the audit keeps, and the events it sends (status last)."""

    exit: DeskExit
    events: list[Event]
    note: str | None = None
    reason: str | None = None
    target: str | None = None


async def _take(
    runtime: Runtime, demand_id: uuid.UUID, operator: str, decide: _Decide
) -> TriageItem:
    """Lock the pending item, let `decide` build the exit, commit it with its audit row."""
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        item = await repository.lock_triage_item(session, demand_id)
        if item is None:
            raise NotInTriage("no such demand in triage")
        if item.state != "pending":
            raise AlreadyClassified(f"already decided ({item.state}) by {item.decided_by}")
        decided = await decide(session, item, now)
        for event in decided.events:
            await runtime.outbox.put(session, event)
        item.state = decided.exit.value
        item.decided_by = operator
        item.decided_at = now
        session.add(
            DeskExitRecord(
                demand_id=demand_id,
                exit=decided.exit.value,
                reason=decided.reason,
                note=decided.note,
                target=decided.target,
                decided_by=operator,
                decided_at=now,
            )
        )
    runtime.outbox.notify()
    return item


def _closed(item: TriageItem, now: datetime, note: str, **extra: str) -> DemandStatusChanged:
    return DemandStatusChanged(
        demand_id=item.demand_id, occurred_at=now, status=DemandStatus.closed, note=note, **extra
    )


async def answer_consultation(
    runtime: Runtime,
    demand_id: uuid.UUID,
    *,
    answer: str,
    matter_code: str | None,
    knowledge_entry_id: uuid.UUID | None,
    operator: str,
) -> TriageItem:
    """直接办结: the answer goes to the citizen, who evaluates it like any reply."""

    async def decide(_session: AsyncSession, item: TriageItem, now: datetime) -> Exit:
        if item.demand_type not in (None, DemandType.consult.value):
            raise NotAConsultation(
                f"the citizen filed this demand as {item.demand_type}, not a consultation"
            )
        answered = DemandAnsweredAtDesk(
            demand_id=item.demand_id,
            occurred_at=now,
            answer=answer,
            knowledge_entry_id=knowledge_entry_id,
            matter_code=matter_code,
            unit_code=item.unit_code,
            operator=operator,
            citizen=Citizen(name=item.citizen_name, phone=item.citizen_phone),
        )
        status = _closed(item, now, f"直接办结：{answer}", department_name=DESK_DEPARTMENT_NAME)
        return Exit(DeskExit.consultation, [answered, status], note=answer)

    return await _take(runtime, demand_id, operator, decide)


async def record_praise(
    runtime: Runtime,
    demand_id: uuid.UUID,
    *,
    department: Department,
    operator: str,
) -> TriageItem:
    """表扬: passed on to the department on its task topic, counted for it by feedback."""

    async def decide(_session: AsyncSession, item: TriageItem, now: datetime) -> Exit:
        praised = DepartmentPraised(
            demand_id=item.demand_id,
            occurred_at=now,
            department_id=department.id,
            department_name=department.name,
            unit_code=department.unit_code,
            content=mask_text(item.content)[:2000],  # for the department: no phone numbers
            operator=operator,
        )
        status = _closed(
            item,
            now,
            f"感谢您的来电，您的表扬已转达{department.name}。",
            department_name=department.name,
        )
        return Exit(DeskExit.praise, [praised, status], target=department.id)

    return await _take(runtime, demand_id, operator, decide)


async def close_as_invalid(
    runtime: Runtime,
    demand_id: uuid.UUID,
    *,
    reason: InvalidReason,
    note: str | None,
    operator: str,
) -> TriageItem:
    """Spam or an invalid contact: closed with the reason, audited, announced."""

    async def decide(_session: AsyncSession, item: TriageItem, now: datetime) -> Exit:
        closed = DemandClosedAsInvalid(
            demand_id=item.demand_id,
            occurred_at=now,
            reason=reason,
            note=note,
            operator=operator,
        )
        status = _closed(item, now, f"经核实，本次诉求为{_INVALID_NOTES[reason]}，不予受理。")
        return Exit(DeskExit.invalid, [closed, status], note=note, reason=reason.value)

    return await _take(runtime, demand_id, operator, decide)


async def merge_into(
    runtime: Runtime, demand_id: uuid.UUID, *, into: uuid.UUID, operator: str
) -> TriageItem:
    """A repeat of a demand routing already handles: routing links it to that demand's lead."""

    async def decide(session: AsyncSession, item: TriageItem, now: datetime) -> Exit:
        if into == item.demand_id or not await repository.was_classified(session, into):
            raise NoSuchDemand(f"demand {into} was never routed: nothing to merge into")
        merged = DemandMergedAtDesk(
            demand_id=item.demand_id,
            occurred_at=now,
            into_demand_id=into,
            content=item.content,
            operator=operator,
            citizen=Citizen(name=item.citizen_name, phone=item.citizen_phone),
        )
        return Exit(DeskExit.merge, [merged], target=str(into))

    return await _take(runtime, demand_id, operator, decide)
