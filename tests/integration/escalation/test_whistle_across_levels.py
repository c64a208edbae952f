"""吹哨报到 across levels and supervision by level, on the real database with a clock the tests
move: a street coordinator summons a district bureau the power list gives a part in the matter,
the bureau reports and joins as co-handler; a missed arrival climbs above the street and the
bureau's task shows it late; a bureau with no power is refused naming the rule; a late district
bureau goes to its district's 12345 sub-centre before the city."""

import json
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from contracts.events import Citizen, DemandClassified, DemandType, Urgency
from services.routing import service
from services.routing.models import Summons, Task, deadlines, tables
from tests.integration.test_returns_and_disputes import LISTS, T0

COMMUNITY = "330502001016"  # a community of 吴兴区 龙泉街道
STREET, DISTRICT, CITY = "330502001000", "330502000000", "330500000000"
COMMITTEE = f"{COMMUNITY}.community_committee"  # leads CIVIL-NEIGHBOUR at community level
BUREAU = f"{DISTRICT}.urban_management"  # 吴兴区综合行政执法局
EDUCATION = f"{DISTRICT}.education"  # no part in a neighbours' dispute


def _demand(matter="CIVIL-NEIGHBOUR"):
    return DemandClassified(
        demand_id=uuid.uuid4(),
        occurred_at=T0,
        matter_code=matter,
        demand_type=DemandType.complaint,
        urgency=Urgency.normal,
        unit_code=COMMUNITY,
        confidence=0.9,
        rule="test",
        content="楼上邻居每晚KTV音响扰民，社区调解无果",
        address=None,
        citizen=Citizen(name="孙八", phone="13600000000"),
    )


async def _dispatched(sessions, outbox, clock, matter="CIVIL-NEIGHBOUR"):
    async with sessions() as session, session.begin():
        lead = await service.dispatch_demand(
            session, outbox, LISTS, _demand(matter), now=clock.now()
        )
    assert lead is not None
    return lead


async def _summon(sessions, outbox, lead, departments, *, unit=STREET, now=T0):
    async with sessions() as session, session.begin():
        return await service.summon(
            session,
            outbox,
            LISTS,
            lead.id,
            act=service.CoordinatorAct(
                coordinator_unit=unit, actor="coordinator:longquan", now=now
            ),
            department_ids=departments,
            arrive_within_minutes=30,
            note="南街12号现场会商",
        )


async def _task_of(sessions, demand_id, department_id):
    async with sessions() as session:
        return await session.scalar(
            select(Task).where(Task.demand_id == demand_id, Task.department_id == department_id)
        )


async def _events(sessions, key, suffix):
    async with sessions() as session:
        rows = await session.execute(
            select(tables.outbox.c.event_type, tables.outbox.c.topic, tables.outbox.c.value)
            .where(tables.outbox.c.key == str(key))
            .order_by(tables.outbox.c.id)
        )
        return [
            (topic, json.loads(value))
            for event_type, topic, value in rows
            if event_type.rsplit(".", 2)[-2] == suffix
        ]


async def test_a_street_summons_a_district_bureau_which_reports_and_joins_as_co_handler(
    sessions, outbox, clock, sweeper
):
    lead = await _dispatched(sessions, outbox, clock)
    assert lead.department_id == COMMITTEE
    [summons] = await _summon(sessions, outbox, lead, [BUREAU])
    joining = await _task_of(sessions, lead.demand_id, BUREAU)
    assert (joining.role, joining.state) == ("co_handler", "assigned")
    assert joining.sign_due_at == summons.arrive_by == T0 + timedelta(minutes=30)
    assert "summons:CIVIL-NEIGHBOUR@district" in joining.rule
    assert joining.citizen_phone is None  # the data list: the contact stays with the lead
    # Only the summons's arrival timer watches the report; the task's own sign clock does not.
    async with sessions() as session:
        stages = (
            await session.scalars(
                select(deadlines.c.stage).where(deadlines.c.task_id == joining.id)
            )
        ).all()
    assert "sign" not in stages
    [(_, assigned)] = await _events(sessions, joining.id, "assigned")
    # the deadline feedback's response rate reads: the arrival's
    assert datetime.fromisoformat(assigned["sign_due_at"]) == summons.arrive_by

    clock.advance(timedelta(minutes=20))
    async with sessions() as session, session.begin():
        await service.report_arrival(
            session, outbox, summons.id, department_id=BUREAU, now=clock.now()
        )
    assert (await _task_of(sessions, lead.demand_id, BUREAU)).state == "signed"
    assert len(await _events(sessions, joining.id, "signed")) == 1  # on time: signed by then
    clock.advance(timedelta(minutes=20))
    await sweeper.sweep_once()
    assert await _events(sessions, lead.id, "escalated") == []


async def test_a_summons_of_a_bureau_with_no_power_over_the_matter_is_refused_naming_the_rule(
    sessions, outbox, clock
):
    lead = await _dispatched(sessions, outbox, clock)
    with pytest.raises(service.NoPowerOverMatter) as refused:
        await _summon(sessions, outbox, lead, [BUREAU, EDUCATION])
    message = str(refused.value)
    assert f"{EDUCATION} holds no power over CIVIL-NEIGHBOUR" in message
    assert f"{BUREAU} (summons:CIVIL-NEIGHBOUR@district)" in message
    async with sessions() as session:  # nothing of the refused summons was kept
        assert (
            await session.scalars(select(Summons).where(Summons.task_id == lead.id))
        ).all() == []
    assert await _task_of(sessions, lead.demand_id, BUREAU) is None


async def test_a_missed_arrival_climbs_above_the_street_and_the_bureau_signs_late(
    sessions, outbox, clock, sweeper
):
    lead = await _dispatched(sessions, outbox, clock)
    [summons] = await _summon(sessions, outbox, lead, [BUREAU])
    clock.advance(timedelta(minutes=31))
    await sweeper.sweep_once()
    climbs = [
        (body["stage"], body["coordinator_unit_code"], topic)
        for topic, body in await _events(sessions, lead.id, "escalated")
    ]
    assert climbs == [("arrival", DISTRICT, "escalations.3305.330502")]
    joining = await _task_of(sessions, lead.demand_id, BUREAU)
    assert joining.escalation_id is None  # one breach, one escalation: the lead's
    clock.advance(timedelta(minutes=30))
    async with sessions() as session, session.begin():
        await service.report_arrival(
            session, outbox, summons.id, department_id=BUREAU, now=clock.now()
        )
    joined = await _task_of(sessions, lead.demand_id, BUREAU)
    assert joined.state == "signed"
    [(_, signed)] = await _events(sessions, joined.id, "signed")
    # signed after its sign deadline (the arrival's): not responded on time in its rates
    assert joined.sign_due_at < clock.now()
    assert signed["task_id"] == str(joined.id)
    [(_, resolved)] = await _events(sessions, lead.id, "escalation-resolved")
    assert resolved["reason"] == "arrival done"


async def test_a_street_summons_to_a_demand_of_its_area_led_by_a_district_bureau(
    sessions, outbox, clock
):
    lead = await _dispatched(sessions, outbox, clock, matter="ENV-NOISE-LIFE")
    assert lead.department_id == BUREAU  # the street does not hold this task, yet sees the demand
    made = await _summon(sessions, outbox, lead, [f"{DISTRICT}.ecology_environment"])
    assert [s.department_id for s in made] == [f"{DISTRICT}.ecology_environment"]
    with pytest.raises(service.OutsideJurisdiction):  # another street's demand is not its own
        await _summon(sessions, outbox, lead, [BUREAU], unit="330502002000")


async def test_a_late_district_bureau_goes_to_the_district_sub_centre_before_the_city(
    sessions, outbox, clock, sweeper
):
    lead = await _dispatched(sessions, outbox, clock, matter="ENV-NOISE-LIFE")
    assert lead.chain == [DISTRICT, CITY]
    clock._now = lead.sign_due_at + timedelta(minutes=1)
    await sweeper.sweep_once()
    current = await _task_of(sessions, lead.demand_id, BUREAU)
    clock._now = current.escalation_due_at + timedelta(minutes=1)
    await sweeper.sweep_once()
    climbs = [
        (body["coordinator_unit_code"], body["level"], body["supervised"], topic)
        for topic, body in await _events(sessions, lead.id, "escalated")
    ]
    assert climbs == [
        (DISTRICT, 1, False, "escalations.3305.330502"),
        (CITY, 2, True, "escalations.3305"),
    ]
