"""What feedback learns from events.

- `demand.status`: a reply opens the callback (and asks the citizen); closing erases the phone,
  and a closed demand's callback is never reopened.
- `demand.classified`: matter and place of each demand (hot spots), and the citizen's phone,
  kept only until the demand closes, for the callback.
- the department task topics: the facts behind the response, on-time reply, return and redo
  rates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import structlog

from contracts.events import (
    EVENT_MODELS,
    DemandAnsweredAtDesk,
    DemandClassified,
    DemandMergedAtDesk,
    DemandStatus,
    DemandStatusChanged,
    Event,
    TaskAssigned,
    TaskExtensionDecided,
    TaskRedoRequested,
    TaskReplied,
    TaskReturned,
    TaskSigned,
    TaskWithdrawn,
)
from contracts.events.citizen import RoutedDemandSupplemented, RoutedDemandWithdrawn
from contracts.events.desk import DepartmentPraised
from contracts.events.task import TaskEvent
from services.feedback import rates
from services.feedback.desk import DeskFacts
from services.feedback.models import DemandFact, RedoFact, ReplyFact, TaskFact
from services.feedback.repository import callbacks as callback_queries
from services.feedback.repository import counters, facts
from services.feedback.service.callbacks import CallbackPolicy, open_callback, phone_arrived
from services.runtime.kafka import Delivery, Handler

log = structlog.get_logger(__name__)


def make_handlers(policy: CallbackPolicy) -> dict[type[Event], Handler]:
    facts_of = _Facts(policy)
    desk = DeskFacts(policy)
    return {
        # Every event of the task topics is accepted; those that change no fact are ignored
        # (a new task event type therefore never dead-letters here).
        **{model: _ignore for model in EVENT_MODELS if issubclass(model, TaskEvent)},
        DemandStatusChanged: facts_of.on_status,
        DemandClassified: facts_of.on_classified,
        TaskAssigned: facts_of.on_assigned,
        TaskSigned: facts_of.change_task(_signed),
        TaskReturned: facts_of.change_task(_returned),
        TaskWithdrawn: facts_of.change_task(_withdrawn),
        TaskReplied: facts_of.on_replied,
        TaskRedoRequested: facts_of.on_redo,
        TaskExtensionDecided: facts_of.change_task(_extension),
        DemandAnsweredAtDesk: desk.on_answered,
        DemandMergedAtDesk: desk.on_merged,
        DepartmentPraised: desk.on_praised,
        RoutedDemandWithdrawn: desk.on_withdrawn,
        RoutedDemandSupplemented: desk.on_supplemented,
    }


class _Facts:
    """The handlers, sharing the callback policy and the calendar's time zone."""

    def __init__(self, policy: CallbackPolicy) -> None:
        self.policy = policy
        self.zone = policy.lists.calendar.zone

    async def on_status(self, delivery: Delivery, event: DemandStatusChanged) -> None:
        if event.status is DemandStatus.replied:
            await open_callback(delivery.session, delivery.outbox, self.policy, event)
        elif event.status is DemandStatus.closed:
            fact = await facts.get_demand_fact(delivery.session, event.demand_id)
            if fact is not None:
                fact.citizen_phone = None  # the data list: kept no longer than needed
            callback = await callback_queries.lock_callback(delivery.session, event.demand_id)
            if callback is not None and callback.closed_at is None:
                callback.closed_at = event.occurred_at

    async def on_classified(self, delivery: Delivery, event: DemandClassified) -> None:
        known = await facts.get_demand_fact(delivery.session, event.demand_id)
        # An operator's reclassification replaces the model's answer.
        fact = await facts.put_demand_fact(
            delivery.session,
            DemandFact(
                demand_id=event.demand_id,
                matter_code=event.matter_code,
                unit_code=event.unit_code,
                classified_at=event.occurred_at,
                citizen_phone=event.citizen.phone,
            ),
        )
        if known is None:
            await phone_arrived(
                delivery.session, delivery.outbox, self.policy, fact, now=delivery.clock.now()
            )

    async def on_assigned(self, delivery: Delivery, event: TaskAssigned) -> None:
        if await facts.get_task_fact(delivery.session, event.task_id) is not None:
            return
        task = TaskFact(
            task_id=event.task_id,
            demand_id=event.demand_id,
            department_id=event.department_id,
            department_name=event.department_name,
            unit_code=event.unit_code,
            role=event.role.value,
            matter_code=event.matter_code,
            assigned_at=event.occurred_at,
            sign_due_at=event.sign_due_at,
            reply_due_at=event.reply_due_at,
            signed_at=None,
            returned_at=None,
            withdrawn_at=None,
        )
        facts.add_fact(delivery.session, task)
        await counters.add(
            delivery.session,
            rates.task_counts(task, self.zone),
            department_name=task.department_name,
            unit_code=task.unit_code,
        )

    def change_task(
        self, change: Callable[[TaskFact, Any], None]
    ) -> Callable[[Delivery, Any], Any]:
        """A handler that changes the task's fact and adds the difference to the counters."""

        async def handle(delivery: Delivery, event: TaskEvent) -> None:
            task = await _task(delivery, event.task_id)
            if task is None:
                return
            before = rates.task_counts(task, self.zone)
            change(task, event)
            await counters.add(
                delivery.session,
                rates.difference(rates.task_counts(task, self.zone), before),
                department_name=task.department_name,
                unit_code=task.unit_code,
            )

        return handle

    async def on_replied(self, delivery: Delivery, event: TaskReplied) -> None:
        task = await _task(delivery, event.task_id)
        if task is None:
            return
        reply = ReplyFact(
            event_id=delivery.envelope.id,
            task_id=task.task_id,
            demand_id=task.demand_id,
            department_id=task.department_id,
            department_name=task.department_name,
            unit_code=task.unit_code,
            replied_at=event.occurred_at,
            reply_due_at=task.reply_due_at,
        )
        facts.add_fact(delivery.session, reply)
        await counters.add(
            delivery.session,
            rates.reply_counts(reply, self.zone),
            department_name=task.department_name,
            unit_code=task.unit_code,
        )

    async def on_redo(self, delivery: Delivery, event: TaskRedoRequested) -> None:
        task = await _task(delivery, event.task_id)
        if task is None:
            return
        task.reply_due_at = event.reply_due_at  # the redo's reply is judged by its new deadline
        redo = RedoFact(
            event_id=delivery.envelope.id,
            task_id=task.task_id,
            demand_id=task.demand_id,
            department_id=task.department_id,
            department_name=task.department_name,
            unit_code=task.unit_code,
            requested_at=event.occurred_at,
            redo=event.redo,
            escalated=event.escalated,
        )
        facts.add_fact(delivery.session, redo)
        await counters.add(
            delivery.session,
            rates.redo_counts(redo, self.zone),
            department_name=task.department_name,
            unit_code=task.unit_code,
        )


def _signed(task: TaskFact, event: TaskSigned) -> None:
    task.signed_at = task.signed_at or event.occurred_at


def _returned(task: TaskFact, event: TaskReturned) -> None:
    task.returned_at = task.returned_at or event.occurred_at


def _withdrawn(task: TaskFact, event: TaskWithdrawn) -> None:
    task.withdrawn_at = task.withdrawn_at or event.occurred_at


def _extension(task: TaskFact, event: TaskExtensionDecided) -> None:
    task.reply_due_at = event.reply_due_at


async def _ignore(_delivery: Delivery, _event: Event) -> None:
    return None


async def _task(delivery: Delivery, task_id: uuid.UUID) -> TaskFact | None:
    task = await facts.lock_task_fact(delivery.session, task_id)
    if task is None:
        log.warning("task event before its assignment ignored", task_id=str(task_id))
    return task
