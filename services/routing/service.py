"""Routing's use cases. Each runs inside the caller's transaction: task change, audit row and
outbox events commit together, so nothing is ever half-applied."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

import structlog
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    Citizen,
    DemandClassified,
    DemandEvaluated,
    DemandNotEvaluated,
    DemandStatus,
    DemandStatusChanged,
    DemandType,
    DepartmentSummoned,
    DisputeOpened,
    DisputeRuled,
    Event,
    ReplyResult,
    ReturnReason,
    Satisfaction,
    Stage,
    TaskAssigned,
    TaskContacted,
    TaskExtensionDecided,
    TaskExtensionRequested,
    TaskRedoRequested,
    TaskReplied,
    TaskReturned,
    TaskRole,
    TaskSigned,
    TaskWithdrawn,
    Urgency,
)
from contracts.jurisdiction import Level, chain_of, level_of
from contracts.lists import Department, Lists, LocatedAboveHandlingLevel, NoOwner
from contracts.lists.calendar import TimeLimit
from services.routing import repository, timers
from services.routing.dispatch import deadlines, working_clock
from services.routing.escalation import escalate_now
from services.routing.models import (
    DemandLink,
    Dispute,
    Extension,
    Summons,
    Task,
    TaskTransition,
)
from services.routing.state import (
    EXTENDABLE_STATES,
    TaskAction,
    TaskState,
    TransitionRefused,
    next_state,
)
from services.runtime.logging import mask_text
from services.runtime.outbox import Outbox

log = structlog.get_logger(__name__)

SYSTEM_ACTOR = "system:routing"


class TaskNotFound(Exception):
    pass


class VersionConflict(Exception):
    """Another clerk changed the task since the caller read it (optimistic locking)."""


class DisputeNotFound(Exception):
    pass


class OutsideJurisdiction(Exception):
    pass


class InvalidRuling(Exception):
    pass


class AlreadyRuled(Exception):
    pass


class ExtensionNotFound(Exception):
    pass


class NotALiveLeadTask(Exception):
    """A coordinator action needs the demand's live lead task (HTTP 409)."""


class ExtensionRefused(Exception):
    """The request or the decision is not possible now; says why (HTTP 409)."""


@dataclass(frozen=True, slots=True)
class DemandFacts:
    """What every task of a demand carries, whoever handles it."""

    demand_id: uuid.UUID
    matter_code: str
    demand_type: DemandType
    urgency: Urgency
    demand_unit_code: str
    content: str
    address: str | None
    citizen: Citizen
    level: Level | None = None  # the power-list level classification chose on evidence

    @classmethod
    def of_event(cls, event: DemandClassified) -> DemandFacts:
        return cls(
            event.demand_id,
            event.matter_code,
            event.demand_type,
            event.urgency,
            event.unit_code,
            event.content,
            event.address,
            event.citizen,
            event.level,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "demand_id": str(self.demand_id),
            "matter_code": self.matter_code,
            "demand_type": self.demand_type.value,
            "urgency": self.urgency.value,
            "demand_unit_code": self.demand_unit_code,
            "content": self.content,
            "address": self.address,
            "citizen": self.citizen.model_dump(),
            "level": self.level.value if self.level else None,
        }

    @classmethod
    def of_json(cls, data: dict[str, Any]) -> DemandFacts:
        return cls(
            uuid.UUID(data["demand_id"]),
            data["matter_code"],
            DemandType(data["demand_type"]),
            Urgency(data["urgency"]),
            data["demand_unit_code"],
            data["content"],
            data["address"],
            Citizen(**data["citizen"]),
            Level(data["level"]) if data.get("level") else None,
        )

    @classmethod
    def of_task(cls, task: Task) -> DemandFacts:
        return cls(
            task.demand_id,
            task.matter_code,
            DemandType(task.demand_type),
            Urgency(task.urgency),
            task.demand_unit_code,
            task.content,
            task.address,
            Citizen(name=task.citizen_name, phone=task.citizen_phone),
        )


def _task_status(
    task: Task,
    status: DemandStatus,
    *,
    now: datetime,
    note: str | None,
    expected_reply_at: datetime | None = None,
) -> DemandStatusChanged:
    """The citizen-visible step a task's change makes, naming the handling department."""
    return DemandStatusChanged(
        demand_id=task.demand_id,
        occurred_at=now,
        status=status,
        department_id=task.department_id,
        department_name=task.department_name,
        note=note,
        expected_reply_at=expected_reply_at,
    )


def _new_task(
    lists: Lists,
    facts: DemandFacts,
    department: Department,
    *,
    role: TaskRole,
    rule: str,
    now: datetime,
    final: bool = False,
) -> tuple[dict[str, Any], list[Event]]:
    """A new task: its row (the columns of `tasks`) and the events that announce it."""
    due = deadlines(lists, matter_code=facts.matter_code, urgency=facts.urgency, now=now)
    is_lead = role is TaskRole.lead
    task_id = uuid.uuid4()
    row: dict[str, Any] = {
        "id": task_id,
        "demand_id": facts.demand_id,
        "role": role.value,
        "department_id": department.id,
        "department_name": department.name,
        "unit_code": department.unit_code,
        "demand_unit_code": facts.demand_unit_code,
        "matter_code": facts.matter_code,
        "demand_type": facts.demand_type.value,
        "urgency": facts.urgency.value,
        "content": facts.content,
        "address": facts.address,
        # The data list: the citizen's contact is stored on the lead's task only.
        "citizen_name": facts.citizen.name if is_lead else None,
        "citizen_phone": facts.citizen.phone if is_lead else None,
        "state": TaskState.assigned.value,
        "version": 1,
        "sign_due_at": due.sign_due_at,
        "first_contact_due_at": due.first_contact_due_at,
        "reply_due_at": due.reply_due_at,
        "reply_clock_from": None,
        "working_clock": due.working_clock,
        "deadlines_provisional": due.provisional,
        "reply_result": None,
        "reply_text": None,
        "lists_version": lists.version,
        "rule": rule[:200],
        "final": final,
        "created_at": now,
        "updated_at": now,
        "chain": coordinator_chain(department.unit_code),
        "fired": [],
        "escalation_id": None,
        "escalation_level": None,
        "escalation_stage": None,
        "escalation_due_at": None,
        "supervised": False,
        "redos": 0,
    }
    events: list[Event] = [
        TaskAssigned(
            demand_id=facts.demand_id,
            occurred_at=now,
            task_id=task_id,
            department_id=department.id,
            unit_code=department.unit_code,
            role=role,
            department_name=department.name,
            demand_unit_code=facts.demand_unit_code,
            matter_code=facts.matter_code,
            demand_type=facts.demand_type,
            urgency=facts.urgency,
            # The district topic is readable by every department of the district: phone and
            # ID numbers in the citizen's words are masked; the owner reads them on the task API.
            content=mask_text(facts.content),
            address=facts.address,
            sign_due_at=due.sign_due_at,
            reply_due_at=due.reply_due_at,
            lists_version=lists.version,
            rule=row["rule"],
        )
    ]
    if is_lead:
        events.append(
            DemandStatusChanged(
                demand_id=facts.demand_id,
                occurred_at=now,
                status=DemandStatus.assigned,
                department_id=department.id,
                department_name=department.name,
                expected_reply_at=due.reply_due_at,
            )
        )
    return row, events


def _assignment(task_id: uuid.UUID, rule: str, now: datetime) -> dict[str, Any]:
    """The audit row of a task's creation."""
    return {
        "task_id": task_id,
        "action": "assign",
        "from_state": None,
        "to_state": TaskState.assigned.value,
        "actor": SYSTEM_ACTOR,
        "reason": rule,
        "at": now,
    }


async def _create_task(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    facts: DemandFacts,
    department: Department,
    *,
    role: TaskRole,
    rule: str,
    now: datetime,
    final: bool = False,
) -> Task:
    """One new task in the session (an action's task: returns, rulings, coordinators)."""
    row, events = _new_task(lists, facts, department, role=role, rule=rule, now=now, final=final)
    task = Task(**row)
    await repository.add_task(session, task, TaskTransition(**_assignment(task.id, rule, now)))
    for event in events:
        await outbox.put(session, event)
    log.info("task assigned", task_id=str(task.id), role=role.value, department_id=department.id)
    return task


@dataclass(slots=True)
class _NewTasks:
    """The tasks a batch of demands creates, written set-based at the end of the batch (one
    statement per table, timers included) instead of through the unit of work object by
    object: most of what routing does is this, and the unit of work cost the most of it."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def add(
        self,
        lists: Lists,
        facts: DemandFacts,
        department: Department,
        *,
        role: TaskRole,
        rule: str,
        now: datetime,
    ) -> dict[str, Any]:
        row, events = _new_task(lists, facts, department, role=role, rule=rule, now=now)
        self.rows.append(row)
        self.transitions.append(_assignment(row["id"], rule, now))
        self.events.extend(events)
        return row

    async def write(self, session: AsyncSession, outbox: Outbox) -> None:
        if not self.rows:
            return
        # On the connection: no autoflush, so objects added meanwhile (a duplicate's link to
        # one of these tasks) are flushed at commit, after the rows they point to.
        connection = await session.connection()
        await repository.insert_rows(connection, cast(Table, Task.__table__), self.rows)
        await repository.insert_rows(
            connection, cast(Table, TaskTransition.__table__), self.transitions
        )
        await outbox.put_many(connection, self.events)
        await timers.arm_new(session, connection, self.rows)


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


async def dispatch_demand(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    event: DemandClassified,
    *,
    now: datetime,
    duplicates: DuplicatePolicy | None = None,
) -> Task | None:
    """One lead task and one task per co-handler, each on its department's chain topic (直派);
    a duplicate of an open demand joins its task instead."""
    (lead_id,) = await dispatch_demands(
        session, outbox, lists, [event], now=now, duplicates=duplicates
    )
    return None if lead_id is None else await repository.get_task(session, lead_id)


async def dispatch_demands(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    events: Sequence[DemandClassified],
    *,
    now: datetime,
    duplicates: DuplicatePolicy | None = None,
) -> list[uuid.UUID | None]:
    """`dispatch_demand` for each event in order: the open lead tasks a demand could duplicate
    are read in one query for the batch (a demand can also join a task an earlier demand of
    the batch created), and the new tasks are written set-based. Returns each demand's lead
    task id (None for a dispute)."""
    return await _dispatch(
        session, outbox, lists, [DemandFacts.of_event(e) for e in events], now, duplicates
    )


async def _dispatch(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    batch: list[DemandFacts],
    now: datetime,
    duplicates: DuplicatePolicy | None,
) -> list[uuid.UUID | None]:
    open_leads: dict[tuple[str, str], list[LeadRef]] = {}
    if duplicates is not None:
        for task in await repository.open_lead_tasks(
            session,
            places={(facts.matter_code, facts.demand_unit_code) for facts in batch},
            since=now - duplicates.window,
        ):
            place = (task.matter_code, task.demand_unit_code)
            open_leads.setdefault(place, []).append(LeadRef.of(task))
    new = _NewTasks()
    leads: list[uuid.UUID | None] = []
    linked = 0
    for facts in batch:
        place = (facts.matter_code, facts.demand_unit_code)
        if duplicates is not None:
            original = await _open_duplicate(session, facts, open_leads.get(place, []), duplicates)
            if original is not None:
                await _link_duplicate(session, outbox, facts, original[0], original[1], now=now)
                leads.append(original[0].id)
                linked += 1
                continue
        try:
            ownership = lists.owner(facts.matter_code, facts.demand_unit_code, facts.level)
        except NoOwner as exc:
            # Nobody owns it here: a dispute for the coordinator, never a demand without an owner.
            # No department refused it, so the citizen is told what is really happening.
            await _open_dispute(
                session,
                outbox,
                lists,
                facts,
                coordinator_unit=_coordinator_for_no_owner(lists, facts),
                returned_by=[],
                reason=f"no owner: {exc}",
                now=now,
                note=(
                    _PLACE_UNCERTAIN_NOTE
                    if isinstance(exc, LocatedAboveHandlingLevel)
                    else _NO_OWNER_NOTE
                ),
            )
            leads.append(None)
            continue
        lead = new.add(
            lists, facts, ownership.lead, role=TaskRole.lead, rule=ownership.rule, now=now
        )
        for department in ownership.co_handlers:
            new.add(
                lists, facts, department, role=TaskRole.co_handler, rule=ownership.rule, now=now
            )
        open_leads.setdefault(place, []).append(LeadRef.of_row(lead))
        leads.append(lead["id"])
    await new.write(session, outbox)
    # One line per batch: each task's assignment is in its audit rows and events.
    log.info(
        "demands dispatched",
        demands=len(batch),
        tasks=len(new.rows),
        linked=linked,
        disputes=leads.count(None),
    )
    return leads


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


async def _open_duplicate(
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


async def _link_duplicate(
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
    _note(
        session,
        task,
        "link-duplicate",
        actor=SYSTEM_ACTOR,
        reason=f"demand {facts.demand_id} (similarity {score:.2f})",
        now=now,
    )
    await outbox.put(session, _merged_into(facts.demand_id, task, now=now))
    log.info("duplicate demand linked", task_id=str(task.id), similarity=round(score, 3))


def _merged_into(
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


async def _links_follow(
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
                note=_DISPUTE_NOTE,
            )
        else:
            link.task_id = lead.id
            status = _merged_into(link.demand_id, lead, now=now)
        await outbox.put(session, status)


async def _status_for_linked(
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


async def _close_link(session: AsyncSession, demand_id: uuid.UUID, now: datetime) -> bool:
    """A merged demand closes: its link stops following the task (a redo's reply would
    otherwise reopen it). False when the demand is not a live merged one."""
    link = await repository.lock_link_of_demand(session, demand_id)
    if link is None:
        return False
    link.state = "closed"
    link.closed_at = now
    return True


async def undo_duplicate(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    link_id: uuid.UUID,
    *,
    coordinator_unit: str,
    actor: str,
    now: datetime,
) -> Task | None:
    """The coordinator separates a demand that was not a duplicate; it is dispatched on its own."""
    link = await repository.lock_link(session, link_id)
    if link is None:
        raise TaskNotFound(str(link_id))
    task = await repository.lock_task(session, link.task_id)
    assert task is not None  # a foreign key
    if not within_jurisdiction(coordinator_unit, task.unit_code):
        raise OutsideJurisdiction(f"the linked task belongs to unit {task.unit_code}")
    if link.state == "closed":
        raise InvalidRuling("the merged demand was already closed by its citizen's evaluation")
    if link.state != "linked":
        raise InvalidRuling("the link was already undone")
    link.state = "undone"
    link.undone_by = actor
    link.undone_at = now
    _note(
        session, task, "unlink-duplicate", actor=actor, reason=f"demand {link.demand_id}", now=now
    )
    (lead_id,) = await _dispatch(
        session, outbox, lists, [DemandFacts.of_json(link.facts)], now, None
    )
    return None if lead_id is None else await repository.get_task(session, lead_id)


class _Audited(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def state(self) -> str: ...


def _note(
    session: AsyncSession,
    task: _Audited,
    action: str,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    """An audit row for an action that leaves the task's state as it is (a summons, a merge)."""
    repository.add_transition(
        session,
        TaskTransition(
            task_id=task.id,
            action=action,
            from_state=task.state,
            to_state=task.state,
            actor=actor,
            reason=reason,
            at=now,
        ),
    )


def _transition(
    session: AsyncSession,
    task: Task,
    action: TaskAction,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    previous = task.state
    task.state = next_state(TaskState(task.state), action, TaskRole(task.role)).value
    task.version += 1
    task.updated_at = now
    repository.add_transition(
        session,
        TaskTransition(
            task_id=task.id,
            action=action.value,
            from_state=previous,
            to_state=task.state,
            actor=actor,
            reason=reason,
            at=now,
        ),
    )


async def _department_task(
    session: AsyncSession, task_id: uuid.UUID, department_id: str, expected_version: int | None
) -> Task:
    task = await repository.lock_task(session, task_id)
    # Another department's task is reported as missing: its existence is not theirs to know.
    if task is None or task.department_id != department_id:
        raise TaskNotFound(str(task_id))
    if expected_version is not None and task.version != expected_version:
        raise VersionConflict(
            f"the task changed since version {expected_version}: it is now at {task.version}"
        )
    return task


def _task_event_fields(task: Task, now: datetime) -> dict[str, object]:
    return {
        "demand_id": task.demand_id,
        "occurred_at": now,
        "task_id": task.id,
        "department_id": task.department_id,
        "unit_code": task.unit_code,
    }


async def sign_task(
    session: AsyncSession,
    outbox: Outbox,
    task_id: uuid.UUID,
    *,
    department_id: str,
    actor: str,
    now: datetime,
    expected_version: int | None = None,
) -> Task:
    task = await _department_task(session, task_id, department_id, expected_version)
    _transition(session, task, TaskAction.sign, actor=actor, reason=None, now=now)
    await outbox.put(session, TaskSigned(**_task_event_fields(task, now), actor=actor))
    if task.role == TaskRole.lead.value:
        note = "承办部门已签收。"
        await outbox.put(session, _task_status(task, DemandStatus.signed, now=now, note=note))
        await _status_for_linked(session, outbox, task, DemandStatus.signed, now=now, note=note)
    return task


async def contact_task(
    session: AsyncSession,
    outbox: Outbox,
    task_id: uuid.UUID,
    *,
    department_id: str,
    actor: str,
    now: datetime,
    expected_version: int | None = None,
) -> Task:
    """First contact with the citizen (先行联系): the lead has called back."""
    task = await _department_task(session, task_id, department_id, expected_version)
    _transition(session, task, TaskAction.contact, actor=actor, reason=None, now=now)
    await outbox.put(session, TaskContacted(**_task_event_fields(task, now), actor=actor))
    return task


async def reply_task(
    session: AsyncSession,
    outbox: Outbox,
    task_id: uuid.UUID,
    *,
    department_id: str,
    actor: str,
    result: ReplyResult,
    reply_text: str,
    now: datetime,
    expected_version: int | None = None,
) -> Task:
    task = await _department_task(session, task_id, department_id, expected_version)
    _transition(session, task, TaskAction.reply, actor=actor, reason=result.value, now=now)
    task.reply_result = result.value
    task.reply_text = reply_text
    await outbox.put(
        session,
        TaskReplied(
            **_task_event_fields(task, now),
            actor=actor,
            result=result,
            reply_text=mask_text(
                reply_text
            ),  # the district's task topic: every department reads it
        ),
    )
    if task.role == TaskRole.lead.value:
        await outbox.put(
            session, _task_status(task, DemandStatus.replied, now=now, note=reply_text)
        )
        await _status_for_linked(
            session, outbox, task, DemandStatus.replied, now=now, note=reply_text
        )
    return task


async def return_task(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    task_id: uuid.UUID,
    *,
    department_id: str,
    actor: str,
    reason_code: ReturnReason,
    legal_basis: str,
    window: TimeLimit,
    max_returns: int,
    now: datetime,
    expected_version: int | None = None,
) -> Task:
    """退单: within the window, with a reason and legal basis; the next candidate of the power
    list leads, or after `max_returns` (or with no candidate left) the coordinator of the parent
    level must rule."""
    task = await _department_task(session, task_id, department_id, expected_version)
    state = TaskState(task.state)
    if task.final:
        raise TransitionRefused(
            TaskAction.return_task,
            state,
            TaskRole(task.role),
            "the coordinator's ruling is final for this task",
        )
    closes = lists.calendar.add(task.created_at, window)
    if now > closes.at:
        raise TransitionRefused(
            TaskAction.return_task,
            state,
            TaskRole(task.role),
            f"the return window ({window}) ended at {closes.at.isoformat()}",
        )
    _transition(
        session,
        task,
        TaskAction.return_task,
        actor=actor,
        reason=f"{reason_code.value}: {legal_basis}",
        now=now,
    )
    tasks = await repository.lock_tasks_of_demand(session, task.demand_id)
    returned = [
        t for t in tasks if t.role == TaskRole.lead.value and t.state == TaskState.returned.value
    ]
    returned.sort(key=lambda t: t.updated_at)
    await outbox.put(
        session,
        TaskReturned(
            **_task_event_fields(task, now),
            actor=actor,
            reason_code=reason_code,
            legal_basis=mask_text(legal_basis),
            returns_of_demand=len(returned),
        ),
    )
    facts = DemandFacts.of_task(task)
    returned_by = [t.department_id for t in returned]
    candidate = _next_candidate(lists, facts, exclude=set(returned_by))
    if candidate is None or len(returned) >= max_returns:
        why = (
            "no candidate left in the power list"
            if candidate is None
            else f"returned {len(returned)} times"
        )
        await _open_dispute(
            session,
            outbox,
            lists,
            facts,
            coordinator_unit=_coordinator_unit_of(task),
            returned_by=returned_by,
            reason=why,
            now=now,
        )
        await _links_follow(session, outbox, task.demand_id, None, now=now)
        return task
    for other in tasks:  # the new lead's co-handler task gives way to its lead task
        if (
            other.department_id == candidate.id
            and other.role == TaskRole.co_handler.value
            and other.state in (TaskState.assigned.value, TaskState.signed.value)
        ):
            await _withdraw(
                session, outbox, other, actor=SYSTEM_ACTOR, reason="now the lead", now=now
            )
    rule = f"return {len(returned)} of {task.department_id}: next candidate {candidate.id}"
    lead = await _create_task(
        session, outbox, lists, facts, candidate, role=TaskRole.lead, rule=rule, now=now
    )
    await _links_follow(session, outbox, task.demand_id, lead, now=now)
    return task


def _next_candidate(lists: Lists, facts: DemandFacts, *, exclude: set[str]) -> Department | None:
    """The power list's lead, then its co-handlers, skipping departments that returned it."""
    try:
        ownership = lists.owner(facts.matter_code, facts.demand_unit_code, facts.level)
    except NoOwner:
        return None
    return next((d for d in (ownership.lead, *ownership.co_handlers) if d.id not in exclude), None)


def _coordinator_for_no_owner(lists: Lists, facts: DemandFacts) -> str:
    """The coordinator above the handling level on the demand's chain; when the demand's unit
    lies above that level (a district named, a street matter), the unit's own coordinator."""
    matter = lists.matters_by_code.get(facts.matter_code)
    chain = chain_of(facts.demand_unit_code)
    if matter is not None:
        for index, code in enumerate(chain):
            if level_of(code) is matter.handling_level:
                return chain[min(index + 1, len(chain) - 1)]
    return chain[0]


# What the citizen reads while a coordinator decides the lead: departments refused it (退单), the
# demand names only a place above the matter's handling level, or the lists name no owner.
_DISPUTE_NOTE = "承办部门存在争议，由上级协调员裁定承办部门。"
_PLACE_UNCERTAIN_NOTE = "正在核实具体属地，由上级协调员指定承办部门。"
_NO_OWNER_NOTE = "该事项暂无明确承办部门，由上级协调员指定承办部门。"


async def _open_dispute(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    facts: DemandFacts,
    *,
    coordinator_unit: str,
    returned_by: list[str],
    reason: str,
    now: datetime,
    note: str = _DISPUTE_NOTE,
) -> Dispute:
    # A dispute keeps the demand's facts, its urgency too: the coordinators' time to rule runs
    # the way the demand's limits do.
    working = working_clock(lists, matter_code=facts.matter_code, urgency=facts.urgency)
    dispute = Dispute(
        id=uuid.uuid4(),
        demand_id=facts.demand_id,
        coordinator_unit_code=coordinator_unit,
        state="open",
        reason=reason,
        returned_by=",".join(returned_by),
        created_at=now,
        facts=facts.to_json(),
        act_by=coordinator_act_by(session, now, working_clock=working),
        supervised=False,
        working_clock=working,
    )
    session.add(dispute)
    await outbox.put(
        session,
        DisputeOpened(
            demand_id=facts.demand_id,
            occurred_at=now,
            dispute_id=dispute.id,
            coordinator_unit_code=coordinator_unit,
            matter_code=facts.matter_code,
            demand_unit_code=facts.demand_unit_code,
            returned_by=returned_by,
            reason=reason,
        ),
    )
    await outbox.put(
        session,
        DemandStatusChanged(
            demand_id=facts.demand_id,
            occurred_at=now,
            status=DemandStatus.triage,
            note=note,
        ),
    )
    log.warning(
        "dispute opened",
        dispute_id=str(dispute.id),
        coordinator_unit=coordinator_unit,
        reason=reason,
    )
    return dispute


def coordinator_act_by(
    session: AsyncSession, now: datetime, *, working_clock: bool
) -> datetime | None:
    """A coordinator's deadline to rule a dispute or decide an extension, from the clock policy
    of routing's sessions: in working time, or on the clock for a demand whose limits run by
    it."""
    policy = timers.session_policy(session)
    return policy.act_by(now, working_clock) if policy is not None else None


def within_jurisdiction(coordinator_unit: str, unit_code: str) -> bool:
    """A coordinator acts on its own unit and everything beneath it."""
    return coordinator_unit in chain_of(unit_code)


async def rule_dispute(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    dispute_id: uuid.UUID,
    *,
    coordinator_unit: str,
    actor: str,
    lead_department_id: str,
    co_handler_department_ids: list[str],
    now: datetime,
) -> Task:
    """裁定: the coordinator names the lead and co-handlers; the ruling is final for the task."""
    dispute = await repository.lock_dispute(session, dispute_id)
    if dispute is None:
        raise DisputeNotFound(str(dispute_id))
    if not within_jurisdiction(coordinator_unit, dispute.coordinator_unit_code):
        raise OutsideJurisdiction(
            f"dispute {dispute_id} is at unit {dispute.coordinator_unit_code}"
        )
    if dispute.state != "open":
        raise AlreadyRuled(f"the dispute was already ruled by {dispute.ruled_by}")
    named = list(dict.fromkeys([lead_department_id, *co_handler_department_ids]))  # no repeats
    departments = [_department(lists, d, coordinator_unit=coordinator_unit) for d in named]
    tasks = await repository.lock_tasks_of_demand(session, dispute.demand_id)
    if dispute.facts:
        facts = DemandFacts.of_json(dispute.facts)
    else:  # a dispute opened before the facts were kept on it
        last = max((t for t in tasks if t.role == TaskRole.lead.value), key=lambda t: t.updated_at)
        facts = DemandFacts.of_task(last)
    rule = f"arbitration:{dispute.id} by {actor}"
    live = {
        (t.department_id, t.role): t
        for t in tasks
        if t.state not in (TaskState.returned.value, TaskState.superseded.value)
    }
    earlier_co = live.get((departments[0].id, TaskRole.co_handler.value))
    if earlier_co is not None:  # the ruled lead's co-handler task gives way to its lead task
        await _withdraw(session, outbox, earlier_co, actor=actor, reason="ruled the lead", now=now)
    lead = await _create_task(
        session,
        outbox,
        lists,
        facts,
        departments[0],
        role=TaskRole.lead,
        rule=rule,
        now=now,
        final=True,
    )
    await _links_follow(session, outbox, dispute.demand_id, lead, now=now)
    for department in departments[1:]:
        if (department.id, TaskRole.co_handler.value) in live:
            continue  # already co-handling this demand
        await _create_task(
            session,
            outbox,
            lists,
            facts,
            department,
            role=TaskRole.co_handler,
            rule=rule,
            now=now,
            final=True,
        )
    dispute.state = "ruled"
    dispute.act_by = None
    dispute.ruled_by = actor
    dispute.ruled_at = now
    dispute.ruling = ",".join(d.id for d in departments)
    await outbox.put(
        session,
        DisputeRuled(
            demand_id=dispute.demand_id,
            occurred_at=now,
            dispute_id=dispute.id,
            coordinator_unit_code=dispute.coordinator_unit_code,
            lead_department_id=departments[0].id,
            co_handler_department_ids=[d.id for d in departments[1:]],
            ruled_by=actor,
        ),
    )
    return lead


async def close_after_evaluation(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    event: DemandEvaluated,
    *,
    now: datetime,
    max_redos: int = 1,
) -> None:
    """The citizen's evaluation closes the demand's replied tasks, or sends the lead's reply
    back (重办) when it is unresolved or dissatisfied."""
    tasks = await repository.lock_tasks_of_demand(session, event.demand_id)
    if not tasks and await _close_link(session, event.demand_id, now):
        # A merged demand: its citizen's evaluation, whatever it says, closes their demand (it
        # counts in the rates as theirs); the task is the original's, and only the original
        # citizen's evaluation closes it or sends it back (重办).
        await outbox.put(
            session,
            DemandStatusChanged(
                demand_id=event.demand_id,
                occurred_at=now,
                status=DemandStatus.closed,
                note="感谢您的评价，诉求已办结归档。",
            ),
        )
        return
    replied = [t for t in tasks if t.state == TaskState.replied.value]
    lead = next((t for t in replied if t.role == TaskRole.lead.value), None)
    if lead is None:
        log.warning("evaluation for a demand with no replied lead task ignored")
        return
    if not event.resolved or event.satisfaction is Satisfaction.dissatisfied:
        await _redo(session, outbox, lists, lead, event, now=now, max_redos=max_redos)
        return
    reason = f"citizen: resolved={event.resolved}, {event.satisfaction.value}"
    for task in replied:
        _transition(session, task, TaskAction.close, actor="citizen", reason=reason, now=now)
    await _withdraw_open_co_handlers(session, outbox, tasks, actor="citizen", now=now)
    await outbox.put(
        session,
        DemandStatusChanged(
            demand_id=event.demand_id,
            occurred_at=now,
            status=DemandStatus.closed,
            note="感谢您的评价，诉求已办结归档。",
        ),
    )


async def _withdraw_open_co_handlers(
    session: AsyncSession, outbox: Outbox, tasks: list[Task], *, actor: str, now: datetime
) -> None:
    """The demand closed while a co-handler had not replied: its task is withdrawn, so its
    clocks stop (no reminder or escalation for a closed demand)."""
    for task in tasks:
        if task.role == TaskRole.co_handler.value and TaskState(task.state) in timers.OPEN_STATES:
            await _withdraw(session, outbox, task, actor=actor, reason="the demand closed", now=now)


async def close_not_evaluated(
    session: AsyncSession, outbox: Outbox, event: DemandNotEvaluated, *, now: datetime
) -> None:
    """未评价: no evaluation came within the window; the replied tasks close as they are."""
    tasks = await repository.lock_tasks_of_demand(session, event.demand_id)
    reason = f"not evaluated by {event.evaluate_by.isoformat()}"
    replied = [t for t in tasks if t.state == TaskState.replied.value]
    for task in replied:
        _transition(session, task, TaskAction.close, actor="feedback", reason=reason, now=now)
    await _withdraw_open_co_handlers(session, outbox, tasks, actor="feedback", now=now)
    if not replied and not await _close_link(session, event.demand_id, now):
        log.warning("not-evaluated notice for a demand with no replied task ignored")
        return
    await outbox.put(
        session,
        DemandStatusChanged(
            demand_id=event.demand_id,
            occurred_at=now,
            status=DemandStatus.closed,
            note="在规定时间内未收到评价，诉求已办结归档（未评价）。",
        ),
    )


async def _redo(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    lead: Task,
    event: DemandEvaluated,
    *,
    now: datetime,
    max_redos: int,
) -> None:
    """重办: the lead's task reopens with a fresh reply deadline and the citizen's words; past
    `max_redos` the coordinator above is escalated at once to decide (reassign, summon...)."""
    reason = f"citizen: resolved={event.resolved}, {event.satisfaction.value}"
    _transition(session, lead, TaskAction.redo, actor="citizen", reason=reason, now=now)
    lead.redos += 1
    limits = lists.matters_by_code[lead.matter_code].limits[Urgency(lead.urgency)]
    lead.reply_due_at = lists.calendar.add(now, limits.reply).at
    lead.reply_result = None
    lead.reply_text = None
    timers.restart_stage(lead, Stage.reply, at=now)
    escalated = lead.redos > max_redos
    comment = mask_text(event.comment) if event.comment else None
    await outbox.put(
        session,
        TaskRedoRequested(
            **_task_event_fields(lead, now),
            redo=lead.redos,
            resolved=event.resolved,
            satisfaction=event.satisfaction.value,
            comment=comment,
            reply_due_at=lead.reply_due_at,
            escalated=escalated,
        ),
    )
    if escalated:
        await escalate_now(
            session,
            outbox,
            lead,
            stage=Stage.redo,
            reason=f"sent back {lead.redos} times (at most {max_redos} redos to the same lead)",
            now=now,
        )
    await outbox.put(
        session,
        _task_status(
            lead,
            DemandStatus.signed,
            now=now,
            note="您的评价已收到，诉求已退回承办部门重新办理（重办）。",
            expected_reply_at=lead.reply_due_at,
        ),
    )
    await _status_for_linked(
        session,
        outbox,
        lead,
        DemandStatus.signed,
        now=now,
        note="与您诉求合并办理的同类诉求答复已退回承办部门重新办理（重办），请等待新的答复。",
        expected_reply_at=lead.reply_due_at,
    )


def coordinator_chain(unit_code: str) -> list[str]:
    """The coordinators above a department's unit, nearest first, up to the city; a city
    department's coordinator is the city's own."""
    chain = chain_of(unit_code)
    return chain[1:] or chain


def _coordinator_unit_of(task: Task) -> str:
    """The coordinator above a task: the parent of the department's unit (the city's own)."""
    return task.chain[0] if task.chain else coordinator_chain(task.unit_code)[0]


async def request_extension(
    session: AsyncSession,
    outbox: Outbox,
    task_id: uuid.UUID,
    *,
    department_id: str,
    actor: str,
    requested: TimeLimit,
    reason: str,
    now: datetime,
    expected_version: int | None = None,
) -> Task:
    """延期申请: only the lead, only before its reply deadline, one pending request at a time."""
    task = await _department_task(session, task_id, department_id, expected_version)
    if task.role != TaskRole.lead.value:
        raise ExtensionRefused("only the lead department asks for an extension")
    if task.state not in EXTENDABLE_STATES:
        raise ExtensionRefused(f"a task in state {task.state} cannot ask for an extension")
    if now >= task.reply_due_at:
        raise ExtensionRefused(f"the reply deadline {task.reply_due_at.isoformat()} has passed")
    if await repository.pending_extension(session, task.id) is not None:
        raise ExtensionRefused("an extension request for this task is already waiting")
    extension = Extension(
        id=uuid.uuid4(),
        task_id=task.id,
        demand_id=task.demand_id,
        coordinator_unit_code=_coordinator_unit_of(task),
        requested=str(requested),
        reason=reason,
        state="pending",
        requested_by=actor,
        requested_at=now,
        act_by=coordinator_act_by(session, now, working_clock=task.working_clock),
        supervised=False,
    )
    session.add(extension)
    _note(session, task, "request-extension", actor=actor, reason=f"{requested}: {reason}", now=now)
    await outbox.put(
        session,
        TaskExtensionRequested(
            **_task_event_fields(task, now),
            extension_id=extension.id,
            actor=actor,
            requested=str(requested),
            reason=mask_text(reason),
            coordinator_unit_code=extension.coordinator_unit_code,
        ),
    )
    return task


async def decide_extension(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    extension_id: uuid.UUID,
    *,
    coordinator_unit: str,
    actor: str,
    approve: bool,
    note: str | None,
    now: datetime,
) -> Extension:
    extension = await repository.lock_extension(session, extension_id)
    if extension is None:
        raise ExtensionNotFound(str(extension_id))
    if not within_jurisdiction(coordinator_unit, extension.coordinator_unit_code):
        raise OutsideJurisdiction(
            f"extension {extension_id} is at unit {extension.coordinator_unit_code}"
        )
    if extension.state == "lapsed":
        raise ExtensionRefused("the request lapsed: the task moved on before a decision")
    if extension.state != "pending":
        raise ExtensionRefused(
            f"the extension was already {extension.state} by {extension.decided_by}"
        )
    task = await repository.lock_task(session, extension.task_id)
    assert task is not None  # a foreign key
    if approve and task.state not in EXTENDABLE_STATES:
        # The task moved on (replied, returned, reassigned) while the request waited.
        raise ExtensionRefused(
            f"the task is now {task.state}: there is no reply deadline to extend"
        )
    extension.state = "approved" if approve else "refused"
    extension.decided_by = actor
    extension.decided_at = now
    extension.decision_note = note
    extension.act_by = None  # decided: its timer is off
    if approve:
        task.reply_due_at = lists.calendar.add(
            task.reply_due_at, TimeLimit.parse(extension.requested)
        ).at
        task.updated_at = now
        timers.restart_stage(task, Stage.reply, at=now)
        reason = f"extension of {extension.requested} approved"
        timers.coordinator_acted(session, task, by=actor, reason=reason)
        if task.role == TaskRole.lead.value:  # the citizen sees the new expected reply time
            local = task.reply_due_at.astimezone(lists.calendar.zone)
            note = f"办理时限已延长至{local:%Y-%m-%d %H:%M}"
            await outbox.put(
                session,
                _task_status(
                    task,
                    DemandStatus.signed,
                    now=now,
                    note=note,
                    expected_reply_at=task.reply_due_at,
                ),
            )
            await _status_for_linked(
                session,
                outbox,
                task,
                DemandStatus.signed,
                now=now,
                note=note,
                expected_reply_at=task.reply_due_at,
            )
    _note(session, task, "extension-" + extension.state, actor=actor, reason=note, now=now)
    await outbox.put(
        session,
        TaskExtensionDecided(
            **_task_event_fields(task, now),
            extension_id=extension.id,
            approved=approve,
            decided_by=actor,
            reply_due_at=task.reply_due_at,
        ),
    )
    return extension


async def _withdraw(
    session: AsyncSession, outbox: Outbox, task: Task, *, actor: str, reason: str, now: datetime
) -> None:
    """Take a task from its department, and tell the department on its topic."""
    _transition(session, task, TaskAction.supersede, actor=actor, reason=reason, now=now)
    await outbox.put(
        session,
        TaskWithdrawn(**_task_event_fields(task, now), actor=actor, reason=mask_text(reason)),
    )


async def _coordinated_lead(
    session: AsyncSession, task_id: uuid.UUID, coordinator_unit: str
) -> Task:
    task = await repository.lock_task(session, task_id)
    if task is None:
        raise TaskNotFound(str(task_id))
    if not within_jurisdiction(coordinator_unit, task.unit_code):
        raise OutsideJurisdiction(f"task {task_id} belongs to unit {task.unit_code}")
    live = (TaskState.assigned.value, TaskState.signed.value, TaskState.contacted.value)
    if task.role != TaskRole.lead.value or task.state not in live:
        raise NotALiveLeadTask(f"task {task_id} is a {task.role} task in state {task.state}")
    return task


def _department(lists: Lists, department_id: str, *, coordinator_unit: str) -> Department:
    """A department the coordinator may give work to: in the lists, within its jurisdiction."""
    department = lists.departments_by_id.get(department_id)
    if department is None:
        raise InvalidRuling(f"no department {department_id} in the lists {lists.version}")
    if not within_jurisdiction(coordinator_unit, department.unit_code):
        raise OutsideJurisdiction(f"department {department_id} is outside unit {coordinator_unit}")
    return department


async def reassign_task(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    task_id: uuid.UUID,
    *,
    coordinator_unit: str,
    actor: str,
    department_id: str,
    reason: str,
    now: datetime,
) -> Task:
    """改派: the coordinator takes the lead task from its department and gives it to another."""
    task = await _coordinated_lead(session, task_id, coordinator_unit)
    department = _department(lists, department_id, coordinator_unit=coordinator_unit)
    if department.id == task.department_id:
        raise InvalidRuling(f"{department_id} already leads this task")
    timers.coordinator_acted(session, task, by=actor, reason=f"reassigned to {department.id}")
    await _withdraw(session, outbox, task, actor=actor, reason=f"reassigned: {reason}", now=now)
    rule = f"reassigned by {actor} from {task.department_id}: {reason}"
    facts = DemandFacts.of_task(task)
    lead = await _create_task(
        session, outbox, lists, facts, department, role=TaskRole.lead, rule=rule, now=now
    )
    await _links_follow(session, outbox, task.demand_id, lead, now=now)
    return lead


async def add_co_handler(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    task_id: uuid.UUID,
    *,
    coordinator_unit: str,
    actor: str,
    department_id: str,
    reason: str,
    now: datetime,
) -> Task:
    """加派: one more co-handler on the demand of a live lead task."""
    lead = await _coordinated_lead(session, task_id, coordinator_unit)
    department = _department(lists, department_id, coordinator_unit=coordinator_unit)
    withdrawn = (TaskState.returned.value, TaskState.superseded.value)
    tasks = await repository.lock_tasks_of_demand(session, lead.demand_id)
    if any(t.department_id == department.id and t.state not in withdrawn for t in tasks):
        raise InvalidRuling(f"{department_id} already has a task on this demand")
    timers.coordinator_acted(session, lead, by=actor, reason=f"added {department.id}")
    facts = DemandFacts.of_task(lead)
    return await _create_task(
        session,
        outbox,
        lists,
        facts,
        department,
        role=TaskRole.co_handler,
        rule=f"added by {actor}: {reason}",
        now=now,
    )


async def summon(
    session: AsyncSession,
    outbox: Outbox,
    lists: Lists,
    task_id: uuid.UUID,
    *,
    coordinator_unit: str,
    actor: str,
    department_ids: list[str],
    arrive_within_minutes: int,
    note: str,
    now: datetime,
) -> list[Summons]:
    """吹哨报到: departments are called to the scene; each arrival deadline is tracked."""
    lead = await _coordinated_lead(session, task_id, coordinator_unit)
    departments = [
        _department(lists, d, coordinator_unit=coordinator_unit)
        for d in dict.fromkeys(department_ids)
    ]
    arrive_by = now + timedelta(minutes=arrive_within_minutes)
    created = []
    for department in departments:
        summons = Summons(
            id=uuid.uuid4(),
            task_id=lead.id,
            demand_id=lead.demand_id,
            department_id=department.id,
            summoned_by=actor,
            coordinator_unit_code=coordinator_unit,
            note=note,
            summoned_at=now,
            arrive_by=arrive_by,
        )
        session.add(summons)
        created.append(summons)
        await outbox.put(
            session,
            DepartmentSummoned(
                demand_id=lead.demand_id,
                occurred_at=now,
                task_id=lead.id,
                department_id=department.id,
                unit_code=department.unit_code,
                summons_id=summons.id,
                lead_task_id=lead.id,
                actor=actor,
                arrive_by=arrive_by,
                note=mask_text(note),
            ),
        )
    summoned = ",".join(d.id for d in departments)
    timers.coordinator_acted(session, lead, by=actor, reason=f"summoned {summoned}")
    _note(
        session,
        lead,
        "summon",
        actor=actor,
        reason=f"{','.join(department_ids)} by {arrive_by.isoformat()}: {note}",
        now=now,
    )
    return created


async def report_arrival(
    session: AsyncSession, summons_id: uuid.UUID, *, department_id: str, now: datetime
) -> Summons:
    """报到: the summoned department is on site (a second report changes nothing)."""
    found = await session.get(Summons, summons_id)
    if found is None or found.department_id != department_id:
        raise TaskNotFound(str(summons_id))
    # The task first, then the summons: the order the sweeper locks them in.
    task = await repository.lock_task(session, found.task_id)
    assert task is not None  # a foreign key
    summons = await repository.lock_summons(session, summons_id)
    assert summons is not None
    if summons.arrived_at is None:
        summons.arrived_at = now
        # A change of the task: its arrival timer is re-planned away at commit.
        task.version += 1
        task.updated_at = now
        _note(session, task, "arrival", actor=department_id, reason=None, now=now)
    return summons
