"""Returns (退单), disputes and rulings (裁定) on the real database, with time under control."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from contracts.events import Citizen, DemandClassified, DemandType, ReturnReason, Urgency
from contracts.lists import load_lists
from contracts.lists.calendar import TimeLimit
from services.routing import service
from services.routing.models import Dispute, Task, tables
from services.routing.state import TransitionRefused

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)  # a Thursday morning
LISTS = load_lists()
LEAD = "330502000000.urban_management"
CO = "330502000000.public_security"
WINDOW = TimeLimit.parse("2 working_hours")


def _classified(demand_id):
    return DemandClassified(
        demand_id=demand_id,
        occurred_at=T0,
        matter_code="ENV-NOISE-LIFE",
        demand_type=DemandType.complaint,
        urgency=Urgency.normal,
        unit_code="330502001016",
        confidence=0.9,
        rule="test",
        content="楼下烧烤店夜间噪音扰民",
        address=None,
        citizen=Citizen(name="赵六", phone="13700000000"),
    )


async def _tasks(sessions, demand_id):
    async with sessions() as session:
        return list(
            (
                await session.scalars(
                    select(Task)
                    .where(Task.demand_id == demand_id)
                    .order_by(Task.created_at, Task.role.desc())
                )
            ).all()
        )


async def _events(sessions, *keys):
    async with sessions() as session:
        rows = await session.execute(
            select(tables.outbox.c.event_type, tables.outbox.c.topic).where(
                tables.outbox.c.key.in_([str(k) for k in keys])
            )
        )
        return [tuple(r) for r in rows]


async def _statuses(sessions, demand_id):
    async with sessions() as session:
        rows = await session.execute(
            select(tables.outbox.c.value)
            .where(tables.outbox.c.key == str(demand_id), tables.outbox.c.topic == "demand.status")
            .order_by(tables.outbox.c.id)
        )
        return [bytes(r[0]).decode() for r in rows]


async def _return(sessions, outbox, task, *, at, department):
    async with sessions() as session, session.begin():
        return await service.return_task(
            session,
            outbox,
            LISTS,
            service.DepartmentAct(
                task_id=task.id, department_id=department, actor=f"clerk@{department}", now=at
            ),
            reason_code=ReturnReason.not_our_duty,
            legal_basis="《噪声污染防治法》：夜间经营噪声由公安以外部门查处",
            window=WINDOW,
            max_returns=2,
        )


async def test_a_demand_bounces_twice_and_the_coordinator_rules(sessions, outbox):
    demand_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        await service.dispatch_demand(session, outbox, LISTS, _classified(demand_id), now=T0)
    lead, co = await _tasks(sessions, demand_id)
    assert (lead.role, lead.department_id, lead.citizen_phone) == ("lead", LEAD, "13700000000")
    assert (co.role, co.department_id, co.citizen_phone) == ("co_handler", CO, None)

    # First return: the power list's next candidate (the co-handler) leads; its co task gives way.
    await _return(sessions, outbox, lead, at=T0 + timedelta(minutes=30), department=LEAD)
    tasks = {(t.department_id, t.role): t for t in await _tasks(sessions, demand_id)}
    assert tasks[(LEAD, "lead")].state == "returned"
    assert tasks[(CO, "co_handler")].state == "superseded"
    second = tasks[(CO, "lead")]
    assert second.state == "assigned"
    assert second.citizen_phone == "13700000000"
    assert second.rule == f"return 1 of {LEAD}: next candidate {CO}"
    assert ("cn.liandong.task.returned.v1", f"tasks.3305.330502.{LEAD}") in await _events(
        sessions, lead.id
    )

    # Second return: the configured maximum, so a dispute for the coordinator above the district.
    await _return(sessions, outbox, second, at=T0 + timedelta(minutes=50), department=CO)
    async with sessions() as session:
        dispute = await session.scalar(select(Dispute).where(Dispute.demand_id == demand_id))
    assert dispute.state == "open"
    assert dispute.coordinator_unit_code == "330500000000"
    assert dispute.returned_by == f"{LEAD},{CO}"
    assert ("cn.liandong.dispute.opened.v1", "escalations.3305") in await _events(
        sessions, dispute.id
    )

    # A district coordinator may not rule on the city's dispute; the city coordinator may.
    async with sessions() as session, session.begin():
        with pytest.raises(service.OutsideJurisdiction):
            await service.rule_dispute(
                session,
                outbox,
                LISTS,
                dispute.id,
                act=service.CoordinatorAct(
                    coordinator_unit="330502000000", actor="c", now=T0 + timedelta(hours=1)
                ),
                lead_department_id=LEAD,
                co_handler_department_ids=[],
                citation=service.Citation(from_lists=True),
            )
    async with sessions() as session, session.begin():
        ruled = await service.rule_dispute(
            session,
            outbox,
            LISTS,
            dispute.id,
            act=service.CoordinatorAct(
                coordinator_unit="330500000000",
                actor="coordinator:city",
                now=T0 + timedelta(hours=1),
            ),
            lead_department_id=LEAD,
            co_handler_department_ids=["330502000000.market_regulation"],
            citation=service.Citation(from_lists=True),
        )
    assert ruled.final is True
    assert ruled.rule == f"arbitration:{dispute.id} by coordinator:city"
    assert ("cn.liandong.dispute.ruled.v1", "escalations.3305") in await _events(
        sessions, dispute.id
    )
    async with sessions() as session, session.begin():
        with pytest.raises(service.AlreadyRuled):
            await service.rule_dispute(
                session,
                outbox,
                LISTS,
                dispute.id,
                act=service.CoordinatorAct(
                    coordinator_unit="330500000000", actor="c", now=T0 + timedelta(hours=2)
                ),
                lead_department_id=CO,
                co_handler_department_ids=[],
                citation=service.Citation(from_lists=True),
            )

    # The ruling is final for the task: no further return.
    with pytest.raises(TransitionRefused, match="ruling is final"):
        await _return(
            sessions, outbox, ruled, at=T0 + timedelta(hours=1, minutes=5), department=LEAD
        )
    leads = [t for t in await _tasks(sessions, demand_id) if t.role == "lead"]
    assert [t.state for t in leads] == ["returned", "returned", "assigned"]


async def test_return_after_the_window_is_refused_and_changes_nothing(sessions, outbox):
    demand_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        await service.dispatch_demand(session, outbox, LISTS, _classified(demand_id), now=T0)
    lead = (await _tasks(sessions, demand_id))[0]
    # Assigned Thursday 10:00; 2 working hours end at 12:00.
    with pytest.raises(TransitionRefused, match="return window"):
        await _return(
            sessions, outbox, lead, at=T0 + timedelta(hours=2, minutes=1), department=LEAD
        )
    assert [t.state for t in await _tasks(sessions, demand_id)] == ["assigned", "assigned"]
    await _return(sessions, outbox, lead, at=T0 + timedelta(hours=1, minutes=59), department=LEAD)
    assert (await _tasks(sessions, demand_id))[0].state == "returned"


async def test_another_department_cannot_return_a_task(sessions, outbox):
    demand_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        await service.dispatch_demand(session, outbox, LISTS, _classified(demand_id), now=T0)
    lead = (await _tasks(sessions, demand_id))[0]
    with pytest.raises(service.TaskNotFound):
        await _return(sessions, outbox, lead, at=T0, department=CO)


async def test_a_demand_nobody_owns_becomes_a_dispute_and_the_coordinator_names_the_owner(
    sessions, outbox
):
    demand_id = uuid.uuid4()
    # A community matter located only to a district, and the power list has no district rule
    # for it: nobody to dispatch to until the place is known.
    event = _classified(demand_id).model_copy(
        update={"matter_code": "CIVIL-NEIGHBOUR", "unit_code": "330502000000"}
    )
    async with sessions() as session, session.begin():
        assert await service.dispatch_demand(session, outbox, LISTS, event, now=T0) is None
    async with sessions() as session:
        dispute = await session.scalar(select(Dispute).where(Dispute.demand_id == demand_id))
    assert dispute.coordinator_unit_code == "330502000000"
    assert dispute.reason.startswith("no owner:")
    # No department refused it: the citizen is not told of a dispute.
    (status,) = await _statuses(sessions, demand_id)
    assert "正在核实具体属地" in status
    assert "争议" not in status
    async with sessions() as session, session.begin():
        with pytest.raises(service.OutsideJurisdiction, match="330523000000"):
            await service.rule_dispute(
                session,
                outbox,
                LISTS,
                dispute.id,
                act=service.CoordinatorAct(coordinator_unit="330502000000", actor="c", now=T0),
                lead_department_id="330523000000.urban_management",
                co_handler_department_ids=[],
                citation=service.Citation(from_lists=True),
            )
    async with sessions() as session, session.begin():
        lead = await service.rule_dispute(
            session,
            outbox,
            LISTS,
            dispute.id,
            act=service.CoordinatorAct(
                coordinator_unit="330502000000", actor="coordinator:wuxing", now=T0
            ),
            lead_department_id="330502002000.street_office",
            co_handler_department_ids=[
                "330502000000.urban_management",
                "330502000000.urban_management",
            ],
            citation=service.Citation(from_lists=True),
        )
    assert (lead.department_name, lead.citizen_phone) == ("朝阳街道办事处", "13700000000")
    roles = sorted(t.role for t in await _tasks(sessions, demand_id))
    assert roles == ["co_handler", "lead"]  # the repeated co-handler is named once


async def test_a_demand_located_only_at_a_street_goes_to_the_street_rule_of_the_power_list(
    sessions, outbox
):
    """An address that names only 月河街道: the power list's street rule for the community
    matter applies (no dispute, no "争议" for the citizen), and the task says why."""
    demand_id = uuid.uuid4()
    event = _classified(demand_id).model_copy(
        update={
            "matter_code": "CITY-COMMUNITY-ENV",
            "unit_code": "330502001000",
            "content": "南街12号楼道堆物严重，进出很不方便",
        }
    )
    async with sessions() as session, session.begin():
        lead = await service.dispatch_demand(session, outbox, LISTS, event, now=T0)
    assert lead is not None
    assert (lead.department_id, lead.citizen_phone) == ("330502001000.street_office", "13700000000")
    assert lead.rule.startswith("power:CITY-COMMUNITY-ENV@street->street_office")
    assert "only a street" in lead.rule
    async with sessions() as session:
        assert await session.scalar(select(Dispute).where(Dispute.demand_id == demand_id)) is None
    (status,) = await _statuses(sessions, demand_id)
    assert '"assigned"' in status
    assert "月河街道办事处" in status
