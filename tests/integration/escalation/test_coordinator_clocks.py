"""Coordinators' clocks on the real database, with a clock the tests move: disputes and extension
requests not decided in time climb to the city; a critical demand's clocks run by the clock, not
in working time; a summoned department's arrival (报到) resolves its escalation."""

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from contracts.events import (
    ReturnReason,
    Urgency,
)
from contracts.lists.calendar import TimeLimit
from services.routing import service
from services.routing.auditor import Auditor
from services.routing.models import Dispute, Escalation, Extension, tables
from tests.integration.escalation.conftest import POLICY
from tests.integration.escalation.test_escalation import (
    CITY,
    COMMITTEE,
    DISTRICT,
    STREET,
    _dispatched,
    _events,
    _extension,
    _extension_asked,
    _reply,
    _sweep_until,
    _task,
    _timers,
)
from tests.integration.test_returns_and_disputes import LISTS, T0


async def test_a_dispute_not_ruled_in_time_climbs_to_the_city_and_waits_there(
    sessions, outbox, clock, sweeper
):
    task = await _dispatched(sessions, outbox, clock)
    async with sessions() as session, session.begin():
        await service.return_task(
            session,
            outbox,
            LISTS,
            service.DepartmentAct(task_id=task.id, department_id=COMMITTEE, actor="c", now=T0),
            reason_code=ReturnReason.not_our_duty,
            legal_basis="《物业管理条例》第三十五条",
            window=TimeLimit.parse("2 working_hours"),
            max_returns=2,
        )
    async with sessions() as session:
        dispute = await session.scalar(select(Dispute).where(Dispute.demand_id == task.demand_id))
    assert dispute.coordinator_unit_code == STREET  # no other candidate: the street rules
    assert dispute.act_by == LISTS.calendar.add(T0, POLICY.act_within).at

    async def climbed():
        async with sessions() as session:
            rows = await session.execute(
                select(tables.outbox.c.topic, tables.outbox.c.value)
                .where(
                    tables.outbox.c.key == str(dispute.id),
                    tables.outbox.c.event_type == "cn.liandong.dispute.escalated.v1",
                )
                .order_by(tables.outbox.c.id)  # the order they were written in
            )
            return [(topic, json.loads(value)) for topic, value in rows]

    for _ in range(3):
        async with sessions() as session:
            current = await session.get(Dispute, dispute.id)
        if current.act_by is None:
            break
        clock._now = current.act_by
        assert (await sweeper.sweep_once()).escalated_disputes == 1
    steps = [
        (t, b["from_unit_code"], b["coordinator_unit_code"], b["supervised"])
        for t, b in await climbed()
    ]
    assert steps == [
        ("escalations.3305.330502", STREET, DISTRICT, False),
        ("escalations.3305", DISTRICT, CITY, True),
    ]
    clock.advance(timedelta(days=30))
    assert (await sweeper.sweep_once()).escalated_disputes == 0  # supervised: it waits
    async with sessions() as session, session.begin():
        with pytest.raises(service.OutsideJurisdiction):  # the street no longer rules it
            await service.rule_dispute(
                session,
                outbox,
                LISTS,
                dispute.id,
                act=service.CoordinatorAct(
                    coordinator_unit=STREET, actor="street", now=clock.now()
                ),
                lead_department_id=COMMITTEE,
                co_handler_department_ids=[],
                citation=service.Citation(from_lists=True),
            )
    async with sessions() as session, session.begin():
        await service.rule_dispute(
            session,
            outbox,
            LISTS,
            dispute.id,
            act=service.CoordinatorAct(coordinator_unit=CITY, actor="city", now=clock.now()),
            lead_department_id=COMMITTEE,
            co_handler_department_ids=[],
            citation=service.Citation(from_lists=True),
        )
    assert (
        await Auditor(sessions=sessions, clock=clock, interval_s=60).audit()
    ).stuck_disputes == 0


async def test_an_extension_not_decided_in_time_climbs_to_the_city_and_waits_there(
    sessions, outbox, clock, sweeper
):
    task, extension = await _extension_asked(sessions, outbox, clock)
    assert extension.coordinator_unit_code == STREET
    assert extension.act_by == LISTS.calendar.add(T0, POLICY.act_within).at

    for _ in range(3):
        current = await _extension(sessions, extension.id)
        if current.act_by is None:
            break
        clock._now = current.act_by
        assert (await sweeper.sweep_once()).escalated_extensions == 1
    steps = [
        (topic, b["from_unit_code"], b["coordinator_unit_code"], b["supervised"], b["task_id"])
        for _, topic, b in await _events(sessions, extension.id, "escalated")
    ]
    assert steps == [
        ("escalations.3305.330502", STREET, DISTRICT, False, str(task.id)),
        ("escalations.3305", DISTRICT, CITY, True, str(task.id)),
    ]
    clock.advance(timedelta(days=30))
    assert (await sweeper.sweep_once()).escalated_extensions == 0  # supervised: it waits
    assert (await _extension(sessions, extension.id)).state == "pending"
    async with sessions() as session, session.begin():
        with pytest.raises(service.OutsideJurisdiction):  # the street no longer decides it
            await service.decide_extension(
                session,
                outbox,
                LISTS,
                extension.id,
                act=service.CoordinatorAct(
                    coordinator_unit=STREET, actor="street", now=clock.now()
                ),
                approve=True,
                note="同意",
                citation=service.Citation(from_lists=True),
            )
    async with sessions() as session, session.begin():
        await service.decide_extension(
            session,
            outbox,
            LISTS,
            extension.id,
            act=service.CoordinatorAct(coordinator_unit=CITY, actor="city", now=clock.now()),
            approve=False,
            note="不同意",
            citation=service.Citation(from_lists=True),
        )
    decided = await _extension(sessions, extension.id)
    assert (decided.state, decided.act_by) == ("refused", None)


async def test_an_extension_request_lapses_when_the_task_moves_on_first(
    sessions, outbox, clock, sweeper
):
    task, extension = await _extension_asked(sessions, outbox, clock)
    await _reply(sessions, outbox, task, at=T0 + timedelta(minutes=10))
    clock._now = extension.act_by
    result = await sweeper.sweep_once()
    assert result.escalated_extensions == 0
    assert await _events(sessions, extension.id, "escalated") == []
    lapsed = await _extension(sessions, extension.id)
    assert (lapsed.state, lapsed.act_by, lapsed.coordinator_unit_code) == ("lapsed", None, STREET)
    async with sessions() as session, session.begin():
        with pytest.raises(service.ExtensionRefused, match="lapsed"):
            await service.decide_extension(
                session,
                outbox,
                LISTS,
                extension.id,
                act=service.CoordinatorAct(
                    coordinator_unit=STREET, actor="street", now=clock.now()
                ),
                approve=False,
                note="不同意",
                citation=service.Citation(from_lists=True),
            )


async def test_the_auditor_reports_an_extension_request_without_a_decision_deadline(
    sessions, outbox, clock
):
    auditor = Auditor(sessions=sessions, clock=clock, interval_s=60)
    before = (await auditor.audit()).stuck_extensions
    _, extension = await _extension_asked(sessions, outbox, clock)
    assert (await auditor.audit()).stuck_extensions == before
    async with sessions() as session, session.begin():
        (await session.get(Extension, extension.id)).act_by = None  # as if its clock were lost
    report = await auditor.audit()
    assert report.stuck_extensions == before + 1
    assert not report.ok
    assert report.as_dict()["stuck_extensions"] == before + 1


SATURDAY_NIGHT = datetime(2026, 11, 28, 22, 0, tzinfo=T0.tzinfo)


def _steps(escalated):
    return [
        (b["coordinator_unit_code"], b.get("stage"), b["supervised"], b["act_by"])
        for _, _, b in escalated
    ]


async def test_a_critical_task_on_a_saturday_night_climbs_within_hours_not_on_monday(
    sessions, outbox, clock, sweeper
):
    # "月河社区3幢楼道堆物严重，现在杂物起火了": critical, its limits run by the clock, and so do
    # its coordinators' (LIANDONG_ROUTING_CRITICAL_ACT_WITHIN, 1 calendar hour); a normal demand
    # of the same night keeps working-time deadlines.
    clock._now = SATURDAY_NIGHT
    fire = await _dispatched(sessions, outbox, clock, urgency=Urgency.critical)
    litter = await _dispatched(sessions, outbox, clock)
    assert (fire.working_clock, litter.working_clock) == (False, True)
    assert fire.sign_due_at == SATURDAY_NIGHT + timedelta(minutes=30)

    await _sweep_until(sweeper, clock, SATURDAY_NIGHT + timedelta(hours=4), sessions, fire.id)
    assert _steps(await _events(sessions, fire.id, "escalated")) == [
        (STREET, "sign", False, "2026-11-28T15:30:00Z"),  # Saturday 23:30 in 湖州
        (DISTRICT, "coordinator", False, "2026-11-28T16:30:00Z"),  # Sunday 00:30
        (CITY, "coordinator", True, None),  # 督办 from Sunday 00:30, not Tuesday
    ]
    assert await _events(sessions, litter.id, "escalated") == []

    monday = datetime(2026, 11, 30, tzinfo=T0.tzinfo)
    await _sweep_until(sweeper, clock, monday.replace(hour=11), sessions, litter.id)
    assert _steps(await _events(sessions, litter.id, "escalated")) == [
        (STREET, "sign", False, "2026-11-30T03:30:00Z"),  # 1 working hour after Monday 10:30
    ]


async def test_disputes_and_extensions_of_a_critical_demand_wait_by_the_clock(
    sessions, outbox, clock, sweeper
):
    clock._now = SATURDAY_NIGHT
    returned = await _dispatched(sessions, outbox, clock, urgency=Urgency.critical)
    extended = await _dispatched(sessions, outbox, clock, urgency=Urgency.critical)
    async with sessions() as session, session.begin():
        await service.return_task(
            session,
            outbox,
            LISTS,
            service.DepartmentAct(
                task_id=returned.id, department_id=COMMITTEE, actor="c", now=clock.now()
            ),
            reason_code=ReturnReason.not_our_duty,
            legal_basis="《物业管理条例》第三十五条",
            window=TimeLimit.parse("2 working_hours"),
            max_returns=2,
        )
        for acknowledge in (service.sign_task, service.contact_task):
            await acknowledge(
                session,
                outbox,
                service.DepartmentAct(
                    task_id=extended.id, department_id=COMMITTEE, actor="c", now=clock.now()
                ),
            )
        await service.request_extension(
            session,
            outbox,
            service.DepartmentAct(
                task_id=extended.id, department_id=COMMITTEE, actor="c", now=clock.now()
            ),
            requested=TimeLimit.parse("12 calendar_hours"),
            reason="需协调物业",
        )
    async with sessions() as session:
        dispute = await session.scalar(
            select(Dispute).where(Dispute.demand_id == returned.demand_id)
        )
        extension = await session.scalar(select(Extension).where(Extension.task_id == extended.id))
    an_hour = SATURDAY_NIGHT + timedelta(hours=1)
    assert (dispute.act_by, extension.act_by) == (an_hour, an_hour)

    clock._now = an_hour
    result = await sweeper.sweep_once()
    assert (result.escalated_disputes, result.escalated_extensions) == (1, 1)
    for key in (dispute.id, extension.id):
        [(_, _, climbed)] = await _events(sessions, key, "escalated")
        assert climbed["coordinator_unit_code"] == DISTRICT
        assert climbed["act_by"] == "2026-11-28T16:00:00Z"  # Sunday 00:00, not Monday


async def test_a_late_arrival_resolves_the_arrival_escalation(sessions, outbox, clock, sweeper):
    task = await _dispatched(sessions, outbox, clock)
    late, later = f"{STREET}.street_office", "330502001005.community_committee"
    async with sessions() as session, session.begin():
        summons = await service.summon(
            session,
            outbox,
            LISTS,
            task.id,
            act=service.CoordinatorAct(coordinator_unit=STREET, actor="street", now=T0),
            department_ids=[late, later],
            arrive_within_minutes=30,
            note="现场",
        )
    clock._now = T0 + timedelta(minutes=31)
    assert (await sweeper.sweep_once()).escalated == 1
    assert (await _task(sessions, task.id)).escalation_stage == "arrival"

    # One of the two summoned departments arrives late: the other is still awaited.
    for arrived, department in zip(summons, (late, later), strict=True):
        clock.advance(timedelta(minutes=10))
        async with sessions() as session, session.begin():
            await service.report_arrival(
                session, outbox, arrived.id, department_id=department, now=clock.now()
            )
        current = await _task(sessions, task.id)
        if department == late:
            assert current.escalation_level == 2
            assert await _events(sessions, task.id, "escalation-resolved") == []
    # Both are on site: the arrival escalation is resolved and its coordinator's clock stops.
    [(_, _, resolved)] = await _events(sessions, task.id, "escalation-resolved")
    assert (resolved["resolved_by"], resolved["reason"]) == (COMMITTEE, "arrival done")
    assert (current.escalation_id, current.escalation_level) == (None, None)
    assert "coordinator" not in {s for s, *_ in await _timers(sessions, task.id)}
    async with sessions() as session:
        states = (
            await session.scalars(select(Escalation.state).where(Escalation.task_id == task.id))
        ).all()
    assert states == ["resolved"]
    clock._now = T0 + timedelta(minutes=90)  # past the district's hour: nothing climbs
    await sweeper.sweep_once()
    assert len(await _events(sessions, task.id, "escalated")) == 1


async def test_a_summons_missed_before_a_coordinator_acted_does_not_hold_a_later_escalation(
    sessions, outbox, clock, sweeper
):
    task = await _dispatched(sessions, outbox, clock)
    absent, second = f"{STREET}.street_office", "330502001005.community_committee"

    async def summon(department):
        async with sessions() as session, session.begin():
            [made] = await service.summon(
                session,
                outbox,
                LISTS,
                task.id,
                act=service.CoordinatorAct(
                    coordinator_unit=STREET, actor="street", now=clock.now()
                ),
                department_ids=[department],
                arrive_within_minutes=30,
                note="现场",
            )
        clock.advance(timedelta(minutes=31))
        assert (await sweeper.sweep_once()).escalated == 1
        return made

    await summon(absent)  # never comes; a minute later the street summons another department
    clock.advance(timedelta(minutes=1))
    made = await summon(second)
    async with sessions() as session, session.begin():
        await service.report_arrival(
            session, outbox, made.id, department_id=second, now=clock.now()
        )
    *_, (_, _, resolved) = await _events(sessions, task.id, "escalation-resolved")
    assert resolved["reason"] == "arrival done"
    assert (await _task(sessions, task.id)).escalation_id is None
