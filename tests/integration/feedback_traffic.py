"""The departments and matter test_feedback_rates counts, its clock, and the synthetic task
traffic it publishes through the broker and evaluates over HTTP."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from contracts.envelope import encode
from contracts.events import (
    Citizen,
    DemandClassified,
    DemandStatus,
    DemandStatusChanged,
    DemandType,
    Event,
    ReplyResult,
    ReturnReason,
    TaskAssigned,
    TaskExtensionDecided,
    TaskRedoRequested,
    TaskReplied,
    TaskReturned,
    TaskRole,
    TaskSigned,
    TaskWithdrawn,
    Urgency,
)
from services.feedback.models import Callback, DemandFact
from services.runtime.auth import Role, issue_token, tracking_token
from services.runtime.clock import FixedClock
from tests.conftest import AUTH_SECRET
from tests.kafka_helpers import eventually

HUZHOU = ZoneInfo("Asia/Shanghai")
SUFFIX = uuid.uuid4().hex[:8]
A = f"330502000000.rates_a_{SUFFIX}"  # a district department
B = f"330502001000.rates_b_{SUFFIX}"  # a street department
NAMES = {A: "测试区局", B: "测试街道办"}
TASK_MATTER = f"TEST-{SUFFIX}-T"
TASK_UNIT = "330503001000"  # where the task demands arise (not the hot-spot street)
HOT_UNIT = "330502001005"  # a community of 月河街道 330502001000


def at(month, day, hour=9, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=HUZHOU)


class SettableClock(FixedClock):
    def set(self, moment):
        self.advance(moment - self.now())


def bearer(clock, role, **claims):
    token = issue_token(AUTH_SECRET, sub=f"{role.value}-1", role=role, now=clock.now(), **claims)
    return {"Authorization": f"Bearer {token}"}


async def classify(infra, app, events):
    """Publish `demand.classified` events and wait until feedback has them, as in life: a
    demand is classified long before a department replies to it (the two topics are not
    ordered with each other)."""
    await publish(infra, events)

    async def known():
        async with app.state.runtime.sessions() as session:
            found = await session.scalars(
                select(DemandFact.demand_id).where(
                    DemandFact.demand_id.in_([e.demand_id for e in events])
                )
            )
            return len(found.all()) == len(events)

    await eventually(known, timeout_s=30)


async def publish(infra, events):
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap_servers, enable_idempotence=False
    )
    await producer.start()
    try:
        for event in events:
            message = encode(event, source="/test")
            await producer.send_and_wait(
                _existing(message.topic),
                value=message.value,
                key=message.key,
                headers=message.headers,
            )
    finally:
        await producer.stop()


# The test's departments are not in the lists, so no topic of theirs exists (topics are made for
# the lists' departments only): their task events ride on a real department's topic, which
# feedback consumes like every other; it reads the department from the event, not the topic.
CARRIER = "tasks.3305.330502.330502000000.urban_management"


def _existing(topic: str) -> str:
    return CARRIER if topic.endswith((f"rates_a_{SUFFIX}", f"rates_b_{SUFFIX}")) else topic


def classified(demand_id, when, *, matter=TASK_MATTER, unit=TASK_UNIT, phone="13800138000"):
    return DemandClassified(
        demand_id=demand_id, occurred_at=when, matter_code=matter, demand_type=DemandType.complaint,
        urgency=Urgency.normal, unit_code=unit, confidence=0.9, rule="test", content="测试诉求",
        address=None, citizen=Citizen(name="张三", phone=phone),
    )  # fmt: skip


class Task:
    """One synthetic task and the events its department's topic would carry."""

    def __init__(self, department, assigned, *, role=TaskRole.lead, sign_within_h=2, reply_days=7):
        self.id = uuid.uuid4()
        self.demand_id = uuid.uuid4()
        self.department = department
        self.unit = department.split(".")[0]
        self.role = role
        self.assigned = assigned
        self.sign_due = assigned + timedelta(hours=sign_within_h)
        self.reply_due = assigned + timedelta(days=reply_days)

    def _fields(self, when):
        return {"demand_id": self.demand_id, "occurred_at": when, "task_id": self.id,
                "department_id": self.department, "unit_code": self.unit}  # fmt: skip

    def assigned_event(self):
        return TaskAssigned(
            **self._fields(self.assigned), role=self.role, department_name=NAMES[self.department],
            demand_unit_code=TASK_UNIT, matter_code=TASK_MATTER, demand_type=DemandType.complaint,
            urgency=Urgency.normal, content="测试", address=None, sign_due_at=self.sign_due,
            reply_due_at=self.reply_due, lists_version="test", rule="test",
        )  # fmt: skip

    def signed(self, when):
        return TaskSigned(**self._fields(when), actor="clerk")

    def returned(self, when):
        return TaskReturned(
            **self._fields(when), actor="clerk", reason_code=ReturnReason.not_our_duty,
            legal_basis="测试", returns_of_demand=1,
        )  # fmt: skip

    def withdrawn(self, when):
        return TaskWithdrawn(**self._fields(when), actor="system", reason="now the lead")

    def extended(self, when, until):
        return TaskExtensionDecided(
            **self._fields(when), extension_id=uuid.uuid4(), approved=True, decided_by="c",
            reply_due_at=until,
        )  # fmt: skip

    def redo(self, when, until):
        return TaskRedoRequested(
            **self._fields(when), redo=1, resolved=False, satisfaction="dissatisfied",
            comment="没有解决", reply_due_at=until, escalated=False,
        )  # fmt: skip

    def replied(self, when, text="已处理"):
        """The reply on the task topic and, for a lead, the citizen-visible status."""
        events: list[Event] = [
            TaskReplied(
                **self._fields(when), actor="clerk", result=ReplyResult.resolved, reply_text=text
            )
        ]
        if self.role is TaskRole.lead:
            events.append(
                DemandStatusChanged(
                    demand_id=self.demand_id,
                    occurred_at=when,
                    status=DemandStatus.replied,
                    department_id=self.department,
                    department_name=NAMES[self.department],
                    note=text,
                )
            )
        return events


async def callback_state(app, demand_id):
    async with app.state.runtime.sessions() as session:
        callback = await session.get(Callback, demand_id, populate_existing=True)
        return None if callback is None else (callback.state, callback.reply_round)


async def evaluate(client, clock, task, when, *, resolved, satisfaction, operator=False):
    clock.set(when)
    body = {"resolved": resolved, "satisfaction": satisfaction}
    if operator:
        return await client.post(
            f"/v1/callbacks/{task.demand_id}/evaluation", json=body,
            headers=bearer(clock, Role.operator),
        )  # fmt: skip
    token = tracking_token(AUTH_SECRET, str(task.demand_id))
    return await client.post(f"/v1/demands/{task.demand_id}/evaluation?token={token}", json=body)


async def department_rows(client, clock, month):
    response = await client.get(
        f"/v1/rankings?by=department&month={month}",
        headers=bearer(clock, Role.coordinator, unit_code="330500000000"),
    )
    assert response.status_code == 200, response.text
    return {
        row["department_id"]: row
        for row in response.json()["rows"]
        if row["department_id"] in (A, B)
    }
