"""回访: a reply opens a callback and asks the citizen (CallbackRequested); the citizen, or a
hotline operator who phoned them, evaluates it; unanswered, it closes as not evaluated."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Unpack

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    CallbackRequested,
    DemandEvaluated,
    DemandNotEvaluated,
    DemandStatusChanged,
    Satisfaction,
)
from contracts.lists import Lists
from contracts.lists.calendar import TimeLimit
from services.feedback import rates
from services.feedback.models import Callback, DemandFact, EvaluationFact
from services.feedback.repository import callbacks as repository
from services.feedback.repository import counters, facts
from services.runtime.auth import tracking_token
from services.runtime.outbox import Outbox
from services.runtime.service import Runtime
from services.runtime.sweeper import BatchSweeper, SweeperOptions

log = structlog.get_logger(__name__)

AWAITING = "awaiting_evaluation"
EVALUATED = "evaluated"
NOT_EVALUATED = "not_evaluated"
UNKNOWN_DEPARTMENT = "unknown"


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    lists: Lists
    window: TimeLimit
    evaluation_url: str  # with {demand_id} and {token}
    secret: str

    def link(self, demand_id: uuid.UUID) -> str:
        token = tracking_token(self.secret, str(demand_id))
        return self.evaluation_url.format(demand_id=demand_id, token=token)

    def unit_of(self, department_id: str) -> str:
        """The unit of a department: from the lists, else from its id (`<unit code>.<type>`)."""
        department = self.lists.departments_by_id.get(department_id)
        if department is not None:
            return department.unit_code
        prefix = department_id.split(".", 1)[0]
        return prefix if len(prefix) == 12 and prefix.isdigit() else self.lists.city_code


async def open_callback(
    session: AsyncSession, outbox: Outbox, policy: CallbackPolicy, event: DemandStatusChanged
) -> None:
    """The lead replied: (re)open the callback and ask the citizen to evaluate."""
    evaluate_by = policy.lists.calendar.add(event.occurred_at, policy.window).at
    callback = await repository.lock_callback(session, event.demand_id)
    if callback is None:
        callback = Callback(demand_id=event.demand_id, reply_round=1)
        repository.add_callback(session, callback)
    elif callback.closed_at is not None:
        # Closed is final (its phone is gone too): a reply to the task a merged demand
        # followed, redone after this demand's citizen closed it, asks nobody.
        log.info("reply for a closed demand ignored", reply_round=callback.reply_round)
        return
    else:  # a later reply to the same demand (a redo) asks the citizen again
        callback.reply_round += 1
        callback.resolved = None
        callback.satisfaction = None
        callback.comment = None
        callback.evaluated_at = None
        callback.evaluated_by = None
    callback.state = AWAITING
    callback.department_id = event.department_id
    callback.department_name = event.department_name
    callback.reply_text = event.note
    callback.replied_at = event.occurred_at
    callback.evaluate_by = evaluate_by
    phone = await repository.citizen_phone(session, event.demand_id)
    if phone is None:
        log.warning("no phone for the callback yet; the gateway may only use the app")
    await outbox.put(session, callback_request(policy, callback, phone, now=event.occurred_at))


def callback_request(
    policy: CallbackPolicy, callback: Callback, phone: str | None, *, now: datetime
) -> CallbackRequested:
    return CallbackRequested(
        demand_id=callback.demand_id,
        occurred_at=now,
        department_id=callback.department_id,
        department_name=callback.department_name,
        reply_text=callback.reply_text,
        reply_round=callback.reply_round,
        evaluation_url=policy.link(callback.demand_id),
        evaluate_by=callback.evaluate_by,
        citizen_phone=phone,
    )


async def phone_arrived(
    session: AsyncSession,
    outbox: Outbox,
    policy: CallbackPolicy,
    fact: DemandFact,
    *,
    now: datetime,
) -> None:
    """`demand.classified` came after the reply (the two topics are not ordered with each
    other, e.g. after a backlog): ask again, now with the phone."""
    callback = await repository.lock_callback(session, fact.demand_id)
    if callback is not None and callback.state == AWAITING and fact.citizen_phone:
        request = callback_request(policy, callback, fact.citizen_phone, now=now)
        await outbox.put(session, request)


class AlreadyClosed(Exception):
    """The callback was evaluated, or closed as not evaluated: the first answer stays."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The citizen's answer on a reply (回访): resolved or not, how satisfied, and who took it
    (the citizen, or the operator who phoned them)."""

    resolved: bool
    satisfaction: Satisfaction
    comment: str | None
    evaluated_by: str


async def evaluate(
    session: AsyncSession,
    outbox: Outbox,
    policy: CallbackPolicy,
    callback: Callback,
    evaluation: Evaluation,
    *,
    now: datetime,
) -> None:
    """Record the evaluation of an awaiting callback, its fact and counts, and the event."""
    if callback.state == EVALUATED:
        assert callback.evaluated_at is not None
        raise AlreadyClosed(
            f"this reply was already evaluated at {callback.evaluated_at.isoformat()}; "
            "the first evaluation is kept"
        )
    if callback.state == NOT_EVALUATED or now > callback.evaluate_by:
        # Past the window the answer is refused even before the sweep has closed it.
        raise AlreadyClosed(
            f"the evaluation window ended at {callback.evaluate_by.isoformat()}; "
            "the demand was closed as not evaluated"
        )
    callback.state = EVALUATED
    callback.resolved = evaluation.resolved
    callback.satisfaction = evaluation.satisfaction.value
    callback.comment = evaluation.comment
    callback.evaluated_at = now
    callback.evaluated_by = evaluation.evaluated_by
    event_id = await outbox.put(
        session,
        DemandEvaluated(
            demand_id=callback.demand_id,
            occurred_at=now,
            resolved=evaluation.resolved,
            satisfaction=evaluation.satisfaction,
            comment=evaluation.comment,
        ),
    )
    outcome = _Outcome(
        EVALUATED, evaluation.resolved, evaluation.satisfaction.value, evaluation.evaluated_by
    )
    await _record(session, policy, callback, outcome, event_id=event_id, now=now)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How a callback ended, as its evaluation fact counts it."""

    state: str
    resolved: bool | None
    satisfaction: str | None
    evaluated_by: str


# The window ended with no answer: nobody evaluated, the sweep closed it.
_WINDOW_ENDED = _Outcome(NOT_EVALUATED, None, None, "window")


async def _record(
    session: AsyncSession,
    policy: CallbackPolicy,
    callback: Callback,
    outcome: _Outcome,
    *,
    event_id: uuid.UUID,
    now: datetime,
) -> None:
    department = callback.department_id or UNKNOWN_DEPARTMENT
    fact = EvaluationFact(
        event_id=event_id,
        demand_id=callback.demand_id,
        department_id=department,
        department_name=callback.department_name or department,
        unit_code=policy.unit_of(department),
        occurred_at=now,
        outcome=outcome.state,
        resolved=outcome.resolved,
        satisfaction=outcome.satisfaction,
        evaluated_by=outcome.evaluated_by,
    )
    facts.add_fact(session, fact)
    await counters.add(
        session,
        rates.evaluation_counts(fact, policy.lists.calendar.zone),
        department_name=fact.department_name,
        unit_code=fact.unit_code,
    )


async def close_unevaluated(
    session: AsyncSession, outbox: Outbox, policy: CallbackPolicy, *, now: datetime, limit: int
) -> int:
    """Close the callbacks whose window has ended (FOR UPDATE SKIP LOCKED: several replicas
    sweep without waiting on each other or closing one twice); returns how many."""
    due = await repository.lock_due_callbacks(session, AWAITING, now=now, limit=limit)
    if due:
        # The callback is over: the phone kept for it goes (routing's `closed` would erase it too).
        await repository.erase_phones(session, [c.demand_id for c in due])
    for callback in due:
        callback.state = NOT_EVALUATED
        callback.evaluated_at = now
        callback.evaluated_by = "window"
        event_id = await outbox.put(
            session,
            DemandNotEvaluated(
                demand_id=callback.demand_id,
                occurred_at=now,
                department_id=callback.department_id,
                replied_at=callback.replied_at,
                evaluate_by=callback.evaluate_by,
            ),
        )
        await _record(session, policy, callback, _WINDOW_ENDED, event_id=event_id, now=now)
    if due:
        log.info("callbacks closed as not evaluated", count=len(due))
    return len(due)


class EvaluationSweeper(BatchSweeper):
    """The periodic sweep of unanswered callbacks, beside the consumer and the relay."""

    metric = "liandong_callbacks_not_evaluated"
    description = "Callbacks this process closed as not evaluated (the window ended unanswered)"
    failure = "evaluation sweep failed, will retry"

    def __init__(self, *, policy: CallbackPolicy, **options: Unpack[SweeperOptions]) -> None:
        super().__init__(**options)
        self.policy = policy

    async def sweep_once(self) -> int:
        async with self.sessions() as session, session.begin():
            closed = await close_unevaluated(
                session, self.outbox, self.policy, now=self.clock.now(), limit=self.batch_size
            )
        if closed:
            self.swept_total += closed
            self.outbox.notify()
        return closed


class NoCallback(LookupError):
    """The demand has no callback: it has not been replied."""


async def evaluate_reply(
    runtime: Runtime,
    policy: CallbackPolicy,
    demand_id: uuid.UUID,
    *,
    resolved: bool,
    satisfaction: Satisfaction,
    comment: str | None,
    evaluated_by: str,
) -> None:
    """The evaluation of a demand's reply, by the citizen or by an operator who phoned them,
    in one transaction with its event; NoCallback or AlreadyClosed when it cannot be taken."""
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        callback = await repository.lock_callback(session, demand_id)
        if callback is None:
            raise NoCallback(f"no callback for demand {demand_id}")
        evaluation = Evaluation(resolved, satisfaction, comment, evaluated_by)
        await evaluate(session, runtime.outbox, policy, callback, evaluation, now=now)
    runtime.outbox.notify()
