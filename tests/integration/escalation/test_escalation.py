"""The escalation engine on the real database, with a clock the tests move: reminders, the climb
up the chain, fencing, resolution, summons, two sweepers at once, and the auditor."""

import asyncio
import json
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select

from contracts.events import (
    Citizen,
    DemandClassified,
    DemandEvaluated,
    DemandNotEvaluated,
    DemandType,
    ReplyResult,
    Satisfaction,
    Urgency,
)
from contracts.lists.calendar import TimeLimit
from services.routing import service
from services.routing.auditor import Auditor
from services.routing.models import Escalation, Extension, Task, deadlines, tables
from services.routing.sweeper import Sweeper
from services.routing.timers import plan
from tests.integration.escalation.conftest import POLICY
from tests.integration.test_returns_and_disputes import CO as NOISE_CO
from tests.integration.test_returns_and_disputes import LEAD as NOISE_LEAD
from tests.integration.test_returns_and_disputes import LISTS, T0
from tests.integration.test_returns_and_disputes import _classified as noise_demand

COMMUNITY = "330502001016"  # a community of 吴兴区 龙泉街道
STREET, DISTRICT, CITY = "330502001000", "330502000000", "330500000000"
COMMITTEE = f"{COMMUNITY}.community_committee"  # leads CITY-COMMUNITY-ENV at community level


def _classified(matter="CITY-COMMUNITY-ENV", urgency=Urgency.normal):
    return DemandClassified(
        demand_id=uuid.uuid4(),
        occurred_at=T0,
        matter_code=matter,
        demand_type=DemandType.complaint,
        urgency=urgency,
        unit_code=COMMUNITY,
        confidence=0.9,
        rule="test",
        content="小区垃圾堆放多日无人清理",
        address=None,
        citizen=Citizen(name="钱七", phone="13900000000"),
    )


async def _dispatched(sessions, outbox, clock, **kwargs):
    async with sessions() as session, session.begin():
        task = await service.dispatch_demand(
            session, outbox, LISTS, _classified(**kwargs), now=clock.now()
        )
    assert task is not None
    return task


async def _task(sessions, task_id):
    async with sessions() as session:
        return await session.get(Task, task_id)


async def _timers(sessions, task_id):
    async with sessions() as session:
        rows = await session.execute(
            select(deadlines.c.stage, deadlines.c.action, deadlines.c.due_at, deadlines.c.fence)
            .where(deadlines.c.task_id == task_id)
            .order_by(deadlines.c.due_at)
        )
        return [tuple(r) for r in rows]


async def _events(sessions, key, *types):
    """(type, topic, body) of the events keyed by a task (or demand) id, of the given types,
    in outbox order."""
    async with sessions() as session:
        rows = await session.execute(
            select(tables.outbox.c.event_type, tables.outbox.c.topic, tables.outbox.c.value)
            .where(tables.outbox.c.key == str(key))
            .order_by(tables.outbox.c.id)
        )
        return [
            (t.rsplit(".", 2)[-2], topic, json.loads(value))
            for t, topic, value in rows
            if t.rsplit(".", 2)[-2] in types
        ]


async def _sweep_until(sweeper, clock, until: datetime, sessions, task_id):
    """Move the clock from timer to timer of the task up to `until`, sweeping at each."""
    while True:
        due = [at for _, _, at, _ in await _timers(sessions, task_id) if at <= until]
        if not due:
            break
        clock._now = max(clock.now(), min(due))
        await sweeper.sweep_once()
    clock._now = max(clock.now(), until)
    await sweeper.sweep_once()


async def test_an_unsigned_task_is_reminded_then_climbs_from_community_to_city(
    sessions, outbox, clock, sweeper
):
    task = await _dispatched(sessions, outbox, clock)
    assert task.department_id == COMMITTEE
    assert task.chain == [STREET, DISTRICT, CITY]  # copied onto the task at creation
    stages = {(stage, action) for stage, action, _, _ in await _timers(sessions, task.id)}
    assert stages == {
        (s, a) for s in ("sign", "first_contact", "reply") for a in ("remind", "escalate")
    }

    sign_due = task.sign_due_at  # Thursday 12:00, two working hours after 10:00
    await _sweep_until(sweeper, clock, sign_due - timedelta(seconds=1), sessions, task.id)
    [(_, topic, reminder)] = await _events(sessions, task.id, "reminded")
    assert topic == f"tasks.3305.330502.{COMMITTEE}"  # the committee's own topic
    assert reminder["stage"] == "sign"
    assert await _events(sessions, task.id, "escalated") == []

    # After the deadline: one step per missed hour of the coordinators (act within 1 hour).
    await _sweep_until(sweeper, clock, T0.replace(hour=16), sessions, task.id)
    climb = [
        (body["coordinator_unit_code"], topic, body["stage"], body["level"], body["supervised"])
        for _, topic, body in await _events(sessions, task.id, "escalated")
    ]
    assert climb == [
        (STREET, "escalations.3305.330502", "sign", 1, False),
        (DISTRICT, "escalations.3305.330502", "coordinator", 2, False),
        (CITY, "escalations.3305", "coordinator", 3, True),
    ]
    escalated = await _events(sessions, task.id, "escalated")
    assert "phone" not in json.dumps([body for *_, body in escalated])  # ids, never PII
    assert escalated[0][2]["act_by"] == "2026-11-26T06:30:00Z"  # 14:30 in 湖州: 1 working hour
    assert escalated[2][2]["act_by"] is None  # supervised at the city: no further clock

    current = await _task(sessions, task.id)
    assert (current.escalation_level, current.supervised, current.state) == (3, True, "assigned")
    async with sessions() as session:
        history = (
            await session.scalars(
                select(Escalation.state)
                .where(Escalation.task_id == task.id)
                .order_by(Escalation.level)
            )
        ).all()
    assert history == ["climbed", "climbed", "open"]
    # Supervised: the sign clock does not fire again; the other stages keep their clocks.
    assert {s for s, _, _, _ in await _timers(sessions, task.id)} == {"first_contact", "reply"}


async def test_a_batch_of_demands_arms_each_new_task_as_its_plan_says(sessions, outbox, clock):
    batch = [_classified(), noise_demand(uuid.uuid4()), _classified(urgency=Urgency.critical)]
    async with sessions() as session, session.begin():
        leads = await service.dispatch_demands(session, outbox, LISTS, batch, now=clock.now())
    async with sessions() as session:
        tasks = (
            await session.scalars(
                select(Task).where(Task.demand_id.in_([e.demand_id for e in batch]))
            )
        ).all()
    assert {t.id for t in tasks if t.role == "lead"} == set(leads)
    assert len(tasks) == 4  # the noise demand has a co-handler
    for task in tasks:
        planned = plan(task, (), remind_share=POLICY.remind_share, calendar=POLICY.calendar)
        assert planned  # every open stage has its clocks
        expected = sorted((t.stage.value, t.action, t.due_at, 1) for t in planned)
        assert sorted(await _timers(sessions, task.id)) == expected


async def test_signing_stops_the_sign_clock_and_the_reply_clock_keeps_running(
    sessions, outbox, clock, sweeper
):
    task = await _dispatched(sessions, outbox, clock)
    clock.advance(timedelta(minutes=30))
    async with sessions() as session, session.begin():
        await service.sign_task(
            session,
            outbox,
            service.DepartmentAct(
                task_id=task.id, department_id=COMMITTEE, actor="clerk", now=clock.now()
            ),
        )
        await service.contact_task(
            session,
            outbox,
            service.DepartmentAct(
                task_id=task.id, department_id=COMMITTEE, actor="clerk", now=clock.now()
            ),
        )
    signed = await _task(sessions, task.id)
    timers = await _timers(sessions, task.id)
    assert {(s, a) for s, a, _, _ in timers} == {("reply", "remind"), ("reply", "escalate")}
    assert {fence for *_, fence in timers} == {signed.version}

    await _sweep_until(
        sweeper, clock, signed.reply_due_at - timedelta(seconds=1), sessions, task.id
    )
    assert [b["stage"] for *_, b in await _events(sessions, task.id, "reminded")] == ["reply"]
    assert await _events(sessions, task.id, "escalated") == []
    await _sweep_until(sweeper, clock, signed.reply_due_at, sessions, task.id)
    [(_, _, escalation)] = await _events(sessions, task.id, "escalated")
    assert (escalation["stage"], escalation["coordinator_unit_code"]) == ("reply", STREET)


async def _extension_asked(sessions, outbox, clock):
    task = await _dispatched(sessions, outbox, clock)
    async with sessions() as session, session.begin():
        for acknowledge in (service.sign_task, service.contact_task):
            await acknowledge(
                session,
                outbox,
                service.DepartmentAct(task_id=task.id, department_id=COMMITTEE, actor="c", now=T0),
            )
        await service.request_extension(
            session,
            outbox,
            service.DepartmentAct(task_id=task.id, department_id=COMMITTEE, actor="c", now=T0),
            requested=TimeLimit.parse("3 working_days"),
            reason="需协调物业",
        )
    async with sessions() as session:
        extension = await session.scalar(select(Extension).where(Extension.task_id == task.id))
    return task, extension


async def _extension(sessions, extension_id):
    async with sessions() as session:
        return await session.get(Extension, extension_id)


async def test_an_approved_extension_moves_the_reply_clock(sessions, outbox, clock, sweeper):
    task, extension = await _extension_asked(sessions, outbox, clock)
    old_due = (await _task(sessions, task.id)).reply_due_at
    async with sessions() as session, session.begin():
        await service.decide_extension(
            session,
            outbox,
            LISTS,
            extension.id,
            act=service.CoordinatorAct(coordinator_unit=STREET, actor="street", now=T0),
            approve=True,
            note="同意",
            citation=service.Citation(from_lists=True),
        )
    new_due = (await _task(sessions, task.id)).reply_due_at
    assert new_due == LISTS.calendar.add(old_due, TimeLimit.parse("3 working_days")).at
    # the citizen's view learns the new expected reply time
    *_, (_, _, last) = await _events(sessions, task.demand_id, "status-changed")
    assert datetime.fromisoformat(last["expected_reply_at"]) == new_due
    assert ("reply", "escalate", new_due) in [t[:3] for t in await _timers(sessions, task.id)]

    await _sweep_until(sweeper, clock, old_due + timedelta(minutes=1), sessions, task.id)
    assert await _events(sessions, task.id, "escalated") == []
    await _sweep_until(sweeper, clock, new_due, sessions, task.id)
    assert [b["stage"] for *_, b in await _events(sessions, task.id, "escalated")] == ["reply"]


async def test_a_stale_timer_does_nothing(sessions, outbox, clock, sweeper):
    task = await _dispatched(sessions, outbox, clock)
    async with sessions() as session, session.begin():
        await session.execute(
            insert(deadlines).values(
                task_id=task.id, stage="coordinator", action="escalate", ref="",
                due_at=T0, fence=task.version - 1,
            )
        )  # fmt: skip
    result = await sweeper.sweep_once()
    assert (result.stale, result.escalated, result.reminded) == (1, 0, 0)
    assert await _events(sessions, task.id, "escalated") == []
    assert ("coordinator", "escalate", T0, task.version - 1) not in await _timers(sessions, task.id)
    assert (await _task(sessions, task.id)).version == task.version


async def test_the_late_stage_done_or_a_coordinator_action_resolves_the_escalation(
    sessions, outbox, clock, sweeper
):
    late_signer = await _dispatched(sessions, outbox, clock)
    summoned = await _dispatched(sessions, outbox, clock)
    clock._now = late_signer.sign_due_at
    assert (await sweeper.sweep_once()).escalated == 2

    async with sessions() as session, session.begin():
        await service.sign_task(
            session,
            outbox,
            service.DepartmentAct(
                task_id=late_signer.id, department_id=COMMITTEE, actor="c", now=clock.now()
            ),
        )
        await service.summon(
            session,
            outbox,
            LISTS,
            summoned.id,
            act=service.CoordinatorAct(coordinator_unit=STREET, actor="street", now=clock.now()),
            department_ids=[f"{STREET}.street_office"],
            arrive_within_minutes=30,
            note="现场会商",
        )
    for task, by in ((late_signer, COMMITTEE), (summoned, "street")):
        [(_, topic, resolved)] = await _events(sessions, task.id, "escalation-resolved")
        assert (topic, resolved["resolved_by"]) == ("escalations.3305.330502", by)
        current = await _task(sessions, task.id)
        assert current.escalation_id is None
        assert "coordinator" not in {s for s, *_ in await _timers(sessions, task.id)}
    async with sessions() as session:
        states = (await session.scalars(select(Escalation.state).where(
            Escalation.task_id.in_([late_signer.id, summoned.id])))).all()  # fmt: skip
    assert states == ["resolved", "resolved"]

    # The summoned department does not report in time: the task escalates again, above the
    # street coordinator whose summons was not followed.
    assert ("arrival", "escalate") in {t[:2] for t in await _timers(sessions, summoned.id)}
    clock.advance(timedelta(minutes=31))
    await sweeper.sweep_once()
    climbs = [
        (body["stage"], body["coordinator_unit_code"], body["level"], topic)
        for _, topic, body in await _events(sessions, summoned.id, "escalated")
    ]
    assert climbs == [
        ("sign", STREET, 1, "escalations.3305.330502"),
        ("arrival", DISTRICT, 2, "escalations.3305.330502"),
    ]


async def test_an_arrival_reported_in_time_stops_its_clock(sessions, outbox, clock, sweeper):
    task = await _dispatched(sessions, outbox, clock)
    department = f"{STREET}.street_office"
    async with sessions() as session, session.begin():
        [summons] = await service.summon(
            session,
            outbox,
            LISTS,
            task.id,
            act=service.CoordinatorAct(coordinator_unit=STREET, actor="street", now=T0),
            department_ids=[department],
            arrive_within_minutes=30,
            note="现场",
        )
    async with sessions() as session, session.begin():
        await service.report_arrival(
            session, outbox, summons.id, department_id=department, now=T0 + timedelta(minutes=20)
        )
    assert "arrival" not in {s for s, *_ in await _timers(sessions, task.id)}
    clock._now = T0 + timedelta(minutes=40)
    await sweeper.sweep_once()
    assert await _events(sessions, task.id, "escalated") == []


async def test_two_sweepers_never_fire_one_deadline_twice(sessions, outbox, clock, engine):
    tasks = [await _dispatched(sessions, outbox, clock) for _ in range(60)]
    clock._now = tasks[-1].sign_due_at
    sweepers = [
        Sweeper(sessions=sessions, outbox=outbox, policy=POLICY, clock=clock, batch_size=7)
        for _ in range(2)
    ]

    async def drain(sweeper):
        fired = 0
        while (result := await sweeper.sweep_once()).claimed:
            fired += result.escalated
        return fired

    fired = await asyncio.gather(*(drain(s) for s in sweepers))
    assert sum(fired) == 60
    assert all(fired)
    for task in tasks:
        escalated = await _events(sessions, task.id, "escalated")
        assert [b["stage"] for *_, b in escalated] == ["sign"]


async def test_the_auditor_reports_an_open_task_without_a_live_timer(sessions, outbox, clock):
    auditor = Auditor(sessions=sessions, clock=clock, interval_s=60)
    before = (await auditor.audit()).stuck_tasks
    task = await _dispatched(sessions, outbox, clock)
    assert (await auditor.audit()).stuck_tasks == before
    async with sessions() as session, session.begin():
        await session.execute(delete(deadlines).where(deadlines.c.task_id == task.id))
    report = await auditor.audit()
    assert report.stuck_tasks == before + 1
    assert not report.ok


async def _reply(sessions, outbox, task, *, at, first=False):
    async with sessions() as session, session.begin():
        if first:
            for acknowledge in (service.sign_task, service.contact_task):
                await acknowledge(
                    session,
                    outbox,
                    service.DepartmentAct(
                        task_id=task.id, department_id=COMMITTEE, actor="c", now=at
                    ),
                )
        await service.reply_task(
            session,
            outbox,
            service.DepartmentAct(task_id=task.id, department_id=COMMITTEE, actor="c", now=at),
            result=ReplyResult.resolved,
            reply_text="已清运",
        )


async def _evaluate(sessions, outbox, task, *, at, satisfaction, resolved=True):
    event = DemandEvaluated(
        demand_id=task.demand_id, occurred_at=at, resolved=resolved,
        satisfaction=satisfaction, comment="垃圾还在，电话13900000000",
    )  # fmt: skip
    async with sessions() as session, session.begin():
        await service.close_after_evaluation(session, outbox, LISTS, event, now=at, max_redos=1)


async def test_a_reopened_reply_clock_reminds_at_its_share_of_the_new_window(
    sessions, outbox, clock
):
    task = await _dispatched(sessions, outbox, clock)
    await _reply(sessions, outbox, task, at=T0 + timedelta(hours=1), first=True)
    # The citizen sends it back a month later: the new window runs from then, so its reminder
    # is not already due (as it would be, measured from the task's creation).
    redo_at = T0 + timedelta(days=30)
    await _evaluate(sessions, outbox, task, at=redo_at, satisfaction=Satisfaction.dissatisfied)
    reopened = await _task(sessions, task.id)
    assert reopened.reply_clock_from == redo_at
    assert reopened.working_clock  # a normal complaint: its limits run in working time
    calendar = LISTS.calendar
    reminder = calendar.at_working_share(redo_at, reopened.reply_due_at, POLICY.remind_share)
    timers = {(stage, action): due for stage, action, due, _ in await _timers(sessions, task.id)}
    assert timers == {("reply", "remind"): reminder, ("reply", "escalate"): reopened.reply_due_at}
    assert redo_at < reminder < reopened.reply_due_at
    window = calendar.working_time(redo_at, reopened.reply_due_at)
    assert calendar.working_time(redo_at, reminder) == window * POLICY.remind_share


async def test_reminders_fall_in_working_time_unless_the_limits_run_by_the_clock(
    sessions, outbox, clock
):
    # Friday 17:00: a normal complaint's 2 working hours to sign (half an hour on Friday, the
    # day ends at 17:30) run to Monday 10:00, and four fifths of them have passed at 09:36 on
    # Monday (not at 21:00 on Sunday); a critical one's half calendar hour runs day and night.
    clock._now = datetime(2026, 11, 27, 17, 0, tzinfo=T0.tzinfo)
    normal = await _task(sessions, (await _dispatched(sessions, outbox, clock)).id)
    critical = await _task(
        sessions, (await _dispatched(sessions, outbox, clock, urgency=Urgency.critical)).id
    )
    monday = datetime(2026, 11, 30, tzinfo=T0.tzinfo)
    assert (normal.working_clock, critical.working_clock) == (True, False)
    assert normal.sign_due_at == monday.replace(hour=10)
    normal_timers = {(s, a): due for s, a, due, _ in await _timers(sessions, normal.id)}
    assert normal_timers["sign", "remind"] == monday.replace(hour=9, minute=36)
    critical_timers = {(s, a): due for s, a, due, _ in await _timers(sessions, critical.id)}
    assert critical_timers["sign", "remind"] == clock.now() + timedelta(minutes=24)


async def test_a_dissatisfied_citizen_reopens_the_task_and_a_second_time_escalates(
    sessions, outbox, clock
):
    task = await _dispatched(sessions, outbox, clock)
    first_reply = T0 + timedelta(hours=1)
    await _reply(sessions, outbox, task, at=first_reply, first=True)
    await _evaluate(sessions, outbox, task, at=first_reply, satisfaction=Satisfaction.dissatisfied)

    reopened = await _task(sessions, task.id)
    assert (reopened.state, reopened.redos, reopened.department_id) == ("contacted", 1, COMMITTEE)
    reply_limit = LISTS.matters_by_code["CITY-COMMUNITY-ENV"].limits[Urgency.normal].reply
    assert reopened.reply_due_at == LISTS.calendar.add(first_reply, reply_limit).at
    [(_, topic, redo)] = await _events(sessions, task.id, "redo-requested")
    assert (topic, redo["redo"], redo["escalated"]) == (f"tasks.3305.330502.{COMMITTEE}", 1, False)
    assert "13900000000" not in redo["comment"]  # masked on the topic
    timers = await _timers(sessions, task.id)
    assert ("reply", "escalate", reopened.reply_due_at, reopened.version) in timers
    assert await _events(sessions, task.id, "escalated") == []

    second_reply = first_reply + timedelta(hours=2)
    await _reply(sessions, outbox, task, at=second_reply)
    await _evaluate(
        sessions, outbox, task, at=second_reply, satisfaction=Satisfaction.satisfied, resolved=False
    )
    again = await _task(sessions, task.id)
    assert (again.state, again.redos, again.escalation_level) == ("contacted", 2, 1)
    [(_, topic, escalation)] = await _events(sessions, task.id, "escalated")
    assert (topic, escalation["stage"], escalation["coordinator_unit_code"]) == (
        "escalations.3305.330502",
        "redo",
        STREET,
    )
    assert ("coordinator", "escalate") in {t[:2] for t in await _timers(sessions, task.id)}

    # The lead replies a third time and the citizen is satisfied: the demand closes, the
    # escalation is resolved and no timer is left.
    await _reply(sessions, outbox, task, at=second_reply + timedelta(hours=1))
    await _evaluate(
        sessions, outbox, task, at=second_reply + timedelta(hours=1),
        satisfaction=Satisfaction.satisfied,
    )  # fmt: skip
    closed = await _task(sessions, task.id)
    assert (closed.state, closed.escalation_id) == ("closed", None)
    assert len(await _events(sessions, task.id, "escalation-resolved")) == 1
    assert await _timers(sessions, task.id) == []


async def test_a_reply_never_evaluated_closes_the_tasks(sessions, outbox, clock):
    task = await _dispatched(sessions, outbox, clock)
    await _reply(sessions, outbox, task, at=T0 + timedelta(hours=1), first=True)
    notice = DemandNotEvaluated(
        demand_id=task.demand_id, occurred_at=T0 + timedelta(days=4), department_id=COMMITTEE,
        replied_at=T0 + timedelta(hours=1), evaluate_by=T0 + timedelta(days=4),
    )  # fmt: skip
    async with sessions() as session, session.begin():
        await service.close_not_evaluated(session, outbox, notice, now=notice.occurred_at)
    assert (await _task(sessions, task.id)).state == "closed"
    assert await _timers(sessions, task.id) == []
    statuses = [
        body["status"] for *_, body in await _events(sessions, task.demand_id, "status-changed")
    ]
    assert statuses[-1] == "closed"


async def test_breaches_falling_due_together_escalate_the_task_once(
    sessions, outbox, clock, sweeper
):
    task = await _dispatched(sessions, outbox, clock)
    summoned = [
        f"{STREET}.street_office",
        "330502001005.community_committee",
        "330502001006.community_committee",
    ]
    async with sessions() as session, session.begin():
        await service.summon(
            session,
            outbox,
            LISTS,
            task.id,
            act=service.CoordinatorAct(coordinator_unit=STREET, actor="street", now=T0),
            department_ids=summoned,
            arrive_within_minutes=30,
            note="现场",
        )
    clock._now = T0 + timedelta(minutes=31)  # three arrival deadlines, one sweep
    result = await sweeper.sweep_once()
    assert (result.escalated, result.joined) == (1, 2)
    async with sessions() as session:
        open_rows = (
            await session.scalars(select(Escalation.state).where(Escalation.task_id == task.id))
        ).all()
    assert open_rows == ["open"]
    current = await _task(sessions, task.id)
    assert current.escalation_level == 2  # above the street, whose summons was not followed

    # By the sign deadline the district's hour to act has passed too: both fall due in one
    # sweep, and the task climbs one level (the coordinator's breach), not two.
    clock._now = task.sign_due_at
    result = await sweeper.sweep_once()
    assert (result.escalated, result.joined) == (1, 1)
    current = await _task(sessions, task.id)
    assert (current.escalation_level, current.escalation_stage) == (3, "sign")


async def test_closing_the_demand_withdraws_a_co_handler_that_never_replied(
    sessions, outbox, clock
):
    async with sessions() as session, session.begin():
        lead = await service.dispatch_demand(
            session, outbox, LISTS, noise_demand(uuid.uuid4()), now=T0
        )
    assert lead is not None
    async with sessions() as session, session.begin():
        for acknowledge in (service.sign_task, service.contact_task):
            await acknowledge(
                session,
                outbox,
                service.DepartmentAct(task_id=lead.id, department_id=NOISE_LEAD, actor="c", now=T0),
            )
        await service.reply_task(
            session,
            outbox,
            service.DepartmentAct(task_id=lead.id, department_id=NOISE_LEAD, actor="c", now=T0),
            result=ReplyResult.resolved,
            reply_text="已整改",
        )
    event = DemandEvaluated(
        demand_id=lead.demand_id, occurred_at=T0, resolved=True, satisfaction=Satisfaction.satisfied
    )
    async with sessions() as session, session.begin():
        await service.close_after_evaluation(session, outbox, LISTS, event, now=T0)
    async with sessions() as session:
        tasks = (await session.scalars(select(Task).where(Task.demand_id == lead.demand_id))).all()
    assert {(t.department_id, t.state) for t in tasks} == {
        (NOISE_LEAD, "closed"),
        (NOISE_CO, "superseded"),  # withdrawn: no reminder or escalation for a closed demand
    }
    for task in tasks:
        assert await _timers(sessions, task.id) == []
