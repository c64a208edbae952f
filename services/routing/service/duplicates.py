"""Duplicate demands (合并办理): linked to an open lead task alike, and following it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    DemandStatus,
    DemandStatusChanged,
    Urgency,
)
from services.routing import repository
from services.routing.models import (
    DemandLink,
    Task,
)
from services.routing.service.tasks import DISPUTE_NOTE, SYSTEM_ACTOR, DemandFacts, note_action
from services.runtime.logging import mask_text
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DuplicatePolicy:
    """Same matter, same community, within `window`, texts at least `similarity` alike."""

    window: timedelta
    similarity: float


def text_similarity(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams (Chinese has no spaces to split words on)."""

    def grams(text: str) -> set[str]:
        kept = "".join(ch for ch in text if ch.isalnum())
        return {kept[i : i + 2] for i in range(len(kept) - 1)}

    left, right = grams(a), grams(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


@dataclass(frozen=True, slots=True)
class LeadRef:
    """What linking a duplicate needs of an open lead task, stored or created in this batch."""

    id: uuid.UUID
    demand_id: uuid.UUID
    state: str
    department_id: str
    department_name: str
    reply_due_at: datetime
    content: str
    urgency: str
    stored: bool = True  # read from the database (False: created earlier in this batch)

    @classmethod
    def of(cls, task: Task) -> LeadRef:
        return cls(
            task.id,
            task.demand_id,
            task.state,
            task.department_id,
            task.department_name,
            task.reply_due_at,
            task.content,
            task.urgency,
        )

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> LeadRef:
        return cls(
            row["id"],
            row["demand_id"],
            row["state"],
            row["department_id"],
            row["department_name"],
            row["reply_due_at"],
            row["content"],
            row["urgency"],
            stored=False,
        )


_URGENCY_RANK = {Urgency.normal: 0, Urgency.urgent: 1, Urgency.critical: 2}


def _best_duplicate(
    facts: DemandFacts, candidates: Sequence[LeadRef], policy: DuplicatePolicy
) -> tuple[LeadRef, float] | None:
    """The most similar of the open lead tasks of the demand's matter and community that are
    at least as urgent: a more urgent demand never takes on a slower task's limits."""
    rank = _URGENCY_RANK[facts.urgency]
    scored = [
        (task, text_similarity(facts.content, task.content))
        for task in candidates
        if _URGENCY_RANK[Urgency(task.urgency)] >= rank
    ]
    scored = [(task, score) for task, score in scored if score >= policy.similarity]
    return max(scored, key=lambda item: item[1]) if scored else None


async def open_duplicate(
    session: AsyncSession,
    facts: DemandFacts,
    candidates: list[LeadRef],
    policy: DuplicatePolicy,
) -> tuple[LeadRef, float] | None:
    """The best duplicate that is still open once locked: the candidates were read without a
    lock, and a clerk may have replied or returned one since (it is dropped, the next tried)."""
    while (best := _best_duplicate(facts, candidates, policy)) is not None:
        if not best[0].stored or await repository.lock_open_lead(session, best[0].id):
            return best
        candidates.remove(best[0])
    return None


async def link_duplicate(
    session: AsyncSession,
    outbox: Outbox,
    facts: DemandFacts,
    task: LeadRef,
    score: float,
    *,
    now: datetime,
) -> None:
    link = DemandLink(
        id=uuid.uuid4(),
        demand_id=facts.demand_id,
        task_id=task.id,
        original_demand_id=task.demand_id,
        similarity=round(score, 3),
        state="linked",
        facts=facts.to_json(),
        created_at=now,
    )
    session.add(link)
    note_action(
        session,
        task,
        "link-duplicate",
        actor=SYSTEM_ACTOR,
        reason=f"demand {facts.demand_id} (similarity {score:.2f})",
        now=now,
    )
    await outbox.put(session, merged_into(facts.demand_id, task, now=now))
    log.info("duplicate demand linked", task_id=str(task.id), similarity=round(score, 3))


def merged_into(
    demand_id: uuid.UUID, lead: LeadRef | Task, *, now: datetime
) -> DemandStatusChanged:
    """What a merged demand's citizen is told of the lead task it follows."""
    return DemandStatusChanged(
        demand_id=demand_id,
        occurred_at=now,
        status=DemandStatus.assigned,
        department_id=lead.department_id,
        department_name=lead.department_name,
        note="您反映的问题已有同类诉求正在办理，已合并办理并同步告知您进展。",
        expected_reply_at=lead.reply_due_at,
    )


async def links_follow(
    session: AsyncSession,
    outbox: Outbox,
    demand_id: uuid.UUID,
    lead: Task | None,
    *,
    now: datetime,
) -> None:
    """The demands merged into a demand's lead follow the lead that replaces it (a return, a
    reassignment, a ruling); while a dispute decides the lead (`lead` None) they wait with it."""
    for link in await repository.links_to_demand(session, demand_id):
        if lead is None:
            status = DemandStatusChanged(
                demand_id=link.demand_id,
                occurred_at=now,
                status=DemandStatus.triage,
                note=DISPUTE_NOTE,
            )
        else:
            link.task_id = lead.id
            status = merged_into(link.demand_id, lead, now=now)
        await outbox.put(session, status)


async def status_for_linked(
    session: AsyncSession,
    outbox: Outbox,
    task: Task,
    status: DemandStatus,
    *,
    now: datetime,
    note: str | None,
    expected_reply_at: datetime | None = None,
) -> None:
    """The citizens whose demands were merged into this task follow it too; a merged demand
    its citizen's evaluation (or the lack of one) closed hears nothing more: it stays closed.
    The note (the reply, often quoting the original citizen's number) goes to other citizens:
    phone and ID numbers in it are masked."""
    note = mask_text(note) if note else note
    for link in await repository.links_of_task(session, task.id):
        await outbox.put(
            session,
            DemandStatusChanged(
                demand_id=link.demand_id,
                occurred_at=now,
                status=status,
                department_id=task.department_id,
                department_name=task.department_name,
                note=note,
                expected_reply_at=expected_reply_at,
            ),
        )


async def close_link(session: AsyncSession, demand_id: uuid.UUID, now: datetime) -> bool:
    """A merged demand closes: its link stops following the task (a redo's reply would
    otherwise reopen it). False when the demand is not a live merged one."""
    link = await repository.lock_link_of_demand(session, demand_id)
    if link is None:
        return False
    link.state = "closed"
    link.closed_at = now
    return True
