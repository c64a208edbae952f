"""Extensions (延期): asked by the lead before its reply deadline, decided by the coordinator."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from contracts.lists.calendar import TimeLimit
from services.routing import repository, service
from services.routing.models import Task
from tests.integration.test_returns_and_disputes import LEAD, LISTS, T0, _classified

FIVE_DAYS = TimeLimit.parse("5 working_days")


async def _signed_lead(sessions, outbox):
    demand_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        lead = await service.dispatch_demand(session, outbox, LISTS, _classified(demand_id), now=T0)
        assert lead is not None
        await service.sign_task(
            session,
            outbox,
            service.DepartmentAct(task_id=lead.id, department_id=LEAD, actor="clerk", now=T0),
        )
    return lead


async def _ask(sessions, outbox, task, *, at):
    async with sessions() as session, session.begin():
        await service.request_extension(
            session,
            outbox,
            service.DepartmentAct(task_id=task.id, department_id=LEAD, actor="clerk", now=at),
            requested=FIVE_DAYS,
            reason="需会同供电部门现场勘查",
        )
        return await repository.pending_extension(session, task.id)


async def _decide(sessions, outbox, extension, *, approve, unit="330500000000"):
    async with sessions() as session, session.begin():
        return await service.decide_extension(
            session,
            outbox,
            LISTS,
            extension.id,
            act=service.CoordinatorAct(
                coordinator_unit=unit, actor=f"coordinator@{unit}", now=T0 + timedelta(hours=2)
            ),
            approve=approve,
            note="同意" if approve else "不同意：可按期办结",
            citation=service.Citation(from_lists=True),
        )


async def _reply_due(sessions, task):
    async with sessions() as session:
        return (await session.scalar(select(Task).where(Task.id == task.id))).reply_due_at


async def test_an_approved_extension_moves_the_reply_deadline(sessions, outbox):
    lead = await _signed_lead(sessions, outbox)
    before = await _reply_due(sessions, lead)
    extension = await _ask(sessions, outbox, lead, at=T0 + timedelta(hours=1))
    with pytest.raises(service.ExtensionRefused, match="already waiting"):
        await _ask(sessions, outbox, lead, at=T0 + timedelta(hours=1, minutes=5))
    with pytest.raises(service.OutsideJurisdiction):
        await _decide(sessions, outbox, extension, approve=True, unit="330503000000")
    decided = await _decide(sessions, outbox, extension, approve=True)
    assert decided.state == "approved"
    after = await _reply_due(sessions, lead)
    assert after == LISTS.calendar.add(before, FIVE_DAYS).at
    with pytest.raises(service.ExtensionRefused, match="already approved"):
        await _decide(sessions, outbox, extension, approve=False)


async def test_a_refused_extension_leaves_the_deadline(sessions, outbox):
    lead = await _signed_lead(sessions, outbox)
    before = await _reply_due(sessions, lead)
    extension = await _ask(sessions, outbox, lead, at=T0 + timedelta(hours=1))
    assert (await _decide(sessions, outbox, extension, approve=False)).state == "refused"
    assert await _reply_due(sessions, lead) == before


async def test_no_extension_after_the_reply_deadline_or_for_an_unsigned_task(sessions, outbox):
    lead = await _signed_lead(sessions, outbox)
    with pytest.raises(service.ExtensionRefused, match="has passed"):
        await _ask(
            sessions, outbox, lead, at=await _reply_due(sessions, lead) + timedelta(minutes=1)
        )
    demand_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        unsigned = await service.dispatch_demand(
            session, outbox, LISTS, _classified(demand_id), now=T0
        )
    with pytest.raises(service.ExtensionRefused, match="state assigned"):
        await _ask(sessions, outbox, unsigned, at=T0 + timedelta(hours=1))


async def test_no_approval_once_the_task_has_moved_on(sessions, outbox):
    lead = await _signed_lead(sessions, outbox)
    extension = await _ask(sessions, outbox, lead, at=T0 + timedelta(hours=1))
    async with sessions() as session, session.begin():
        await service.reassign_task(
            session,
            outbox,
            LISTS,
            lead.id,
            act=service.CoordinatorAct(
                coordinator_unit="330500000000", actor="c", now=T0 + timedelta(hours=1, minutes=30)
            ),
            department_id="330502000000.market_regulation",
            citation=service.Citation(from_lists=True, reason="改派"),
        )
    with pytest.raises(service.ExtensionRefused, match="now superseded"):
        await _decide(sessions, outbox, extension, approve=True)


async def test_a_street_coordinator_lists_only_the_requests_of_its_own_street(sessions, outbox):
    lead = await _signed_lead(sessions, outbox)
    extension = await _ask(sessions, outbox, lead, at=T0 + timedelta(hours=1))
    async with sessions() as session, session.begin():
        row = await repository.lock_extension(session, extension.id)
        assert row is not None
        row.coordinator_unit_code = "330502011000"  # 杨家埠街道
    async with sessions() as session:
        # 龙溪街道 330502010000 shares the zeros-stripped prefix 33050201 with 杨家埠: not its area
        for unit, sees in (
            ("330502010000", False),
            ("330502011000", True),
            ("330502000000", True),  # 吴兴区, the district above both streets
            ("330503000000", False),  # 南浔区
        ):
            listed = await repository.extensions_within(session, unit, state="pending")
            assert (extension.id in {e.id for e in listed}) is sees, unit
