"""Coordinator actions on the real database: reassign (改派), add a co-handler (加派) and summon
(吹哨报到) with an arrival deadline that passes."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.routing import repository, service
from services.routing.models import Task, tables
from tests.integration.test_returns_and_disputes import CO, LEAD, LISTS, T0, _classified

MARKET = "330502000000.market_regulation"
CITY = "330500000000"


async def _dispatched(sessions, outbox):
    async with sessions() as session, session.begin():
        lead = await service.dispatch_demand(
            session, outbox, LISTS, _classified(uuid.uuid4()), now=T0
        )
    assert lead is not None
    return lead


async def _tasks(sessions, demand_id):
    async with sessions() as session:
        return list((await session.scalars(select(Task).where(Task.demand_id == demand_id))).all())


async def _events(sessions, key):
    async with sessions() as session:
        rows = await session.execute(
            select(tables.outbox.c.event_type).where(tables.outbox.c.key == str(key))
        )
        return [r[0] for r in rows]


async def test_reassigned_task_is_withdrawn_from_its_department_and_given_to_another(
    sessions, outbox
):
    lead = await _dispatched(sessions, outbox)
    async with sessions() as session, session.begin():
        with pytest.raises(service.OutsideJurisdiction):
            await service.reassign_task(
                session,
                outbox,
                LISTS,
                lead.id,
                act=service.CoordinatorAct(coordinator_unit="330503000000", actor="c", now=T0),
                department_id=MARKET,
                citation=service.Citation(from_lists=True, reason="属市场监管"),
            )
    async with sessions() as session, session.begin():
        new = await service.reassign_task(
            session,
            outbox,
            LISTS,
            lead.id,
            act=service.CoordinatorAct(
                coordinator_unit=CITY, actor="coordinator:city", now=T0 + timedelta(minutes=5)
            ),
            department_id=MARKET,
            citation=service.Citation(from_lists=True, reason="烧烤店经营噪声属市场监管"),
        )
    assert (new.role, new.department_id, new.citizen_phone) == ("lead", MARKET, "13700000000")
    assert new.rule.startswith(f"reassigned by coordinator:city from {LEAD}")
    states = {(t.department_id, t.role): t.state for t in await _tasks(sessions, lead.demand_id)}
    assert states[(LEAD, "lead")] == "superseded"
    assert "cn.liandong.task.withdrawn.v1" in await _events(sessions, lead.id)
    async with sessions() as session, session.begin():
        with pytest.raises(service.NotALiveLeadTask):
            await service.reassign_task(
                session,
                outbox,
                LISTS,
                lead.id,
                act=service.CoordinatorAct(
                    coordinator_unit=CITY, actor="c", now=T0 + timedelta(minutes=6)
                ),
                department_id=LEAD,
                citation=service.Citation(from_lists=True, reason="再改回"),
            )


async def test_added_co_handler_gets_a_task_without_the_citizens_contact(sessions, outbox):
    lead = await _dispatched(sessions, outbox)
    async with sessions() as session, session.begin():
        added = await service.add_co_handler(
            session,
            outbox,
            LISTS,
            lead.id,
            act=service.CoordinatorAct(
                coordinator_unit="330502000000", actor="coordinator:district", now=T0
            ),
            department_id=MARKET,
            citation=service.Citation(reason="涉及无证经营"),
        )
    assert (added.role, added.citizen_phone) == ("co_handler", None)
    async with sessions() as session, session.begin():
        with pytest.raises(service.InvalidRuling, match="already has a task"):
            await service.add_co_handler(
                session,
                outbox,
                LISTS,
                lead.id,
                act=service.CoordinatorAct(coordinator_unit=CITY, actor="c", now=T0),
                department_id=CO,
                citation=service.Citation(reason="重复加派"),
            )


async def test_a_summons_whose_arrival_limit_passes_is_overdue_until_the_department_arrives(
    sessions, outbox
):
    lead = await _dispatched(sessions, outbox)
    async with sessions() as session, session.begin():
        [summons] = await service.summon(
            session,
            outbox,
            LISTS,
            lead.id,
            act=service.CoordinatorAct(
                coordinator_unit="330502000000", actor="coordinator:district", now=T0
            ),
            department_ids=[MARKET],
            arrive_within_minutes=30,
            note="月河社区南街12号现场会商",
        )
    assert summons.arrive_by == T0 + timedelta(minutes=30)
    assert "cn.liandong.task.summoned.v1" in await _events(sessions, lead.id)

    async def overdue(at):
        async with sessions() as session:
            return [s.id for s in await repository.overdue_summons(session, at)]

    assert summons.id not in await overdue(T0 + timedelta(minutes=29))
    assert summons.id in await overdue(T0 + timedelta(minutes=31))
    async with sessions() as session, session.begin():
        with pytest.raises(service.TaskNotFound):  # only the summoned department reports
            await service.report_arrival(
                session, outbox, summons.id, department_id=LEAD, now=T0 + timedelta(minutes=40)
            )
    async with sessions() as session, session.begin():
        arrived = await service.report_arrival(
            session, outbox, summons.id, department_id=MARKET, now=T0 + timedelta(minutes=40)
        )
    assert arrived.arrived_at == T0 + timedelta(minutes=40)
    assert summons.id not in await overdue(T0 + timedelta(hours=2))
