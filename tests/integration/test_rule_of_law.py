"""Rule of law (依法) on the real database: rulings, reassignments and refusals carry a legal
basis (from the lists or typed in), none is accepted without one, and the history they write
(transitions, escalations, rulings) cannot be altered, whoever connects: the database refuses."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from services.routing import service
from services.routing.models import Dispute, Escalation, Ruling, Task, TaskTransition
from tests.integration.test_returns_and_disputes import CO, LEAD, LISTS, T0, _classified, _return

CITY, DISTRICT = "330500000000", "330502000000"
MARKET = f"{DISTRICT}.market_regulation"
NOISE_LAW = "《中华人民共和国噪声污染防治法》“社会生活噪声污染防治”章"


def _city(minutes=60):
    return service.CoordinatorAct(
        coordinator_unit=CITY, actor="coordinator:city", now=T0 + timedelta(minutes=minutes)
    )


async def _dispatched(sessions, outbox):
    demand_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        lead = await service.dispatch_demand(session, outbox, LISTS, _classified(demand_id), now=T0)
    return lead


async def _disputed(sessions, outbox):
    """A demand both its departments returned: a dispute for the coordinator above them."""
    lead = await _dispatched(sessions, outbox)
    await _return(sessions, outbox, lead, at=T0 + timedelta(minutes=30), department=LEAD)
    async with sessions() as session:
        second = await session.scalar(
            select(Task).where(
                Task.demand_id == lead.demand_id, Task.department_id == CO, Task.role == "lead"
            )
        )
    await _return(sessions, outbox, second, at=T0 + timedelta(minutes=50), department=CO)
    async with sessions() as session:
        return await session.scalar(select(Dispute).where(Dispute.demand_id == lead.demand_id))


async def _rule(sessions, outbox, dispute, citation):
    async with sessions() as session, session.begin():
        return await service.rule_dispute(
            session,
            outbox,
            LISTS,
            dispute.id,
            act=_city(),
            lead_department_id=LEAD,
            co_handler_department_ids=[],
            citation=citation,
        )


async def test_a_ruling_without_a_legal_basis_is_refused_and_one_citing_the_lists_is_kept(
    sessions, outbox
):
    dispute = await _disputed(sessions, outbox)
    with pytest.raises(service.MissingLegalBasis, match="a ruling needs its legal basis"):
        await _rule(sessions, outbox, dispute, service.Citation(typed="  "))
    lead = await _rule(
        sessions, outbox, dispute, service.Citation(from_lists=True, reason="夜间经营噪声")
    )
    async with sessions() as session:
        [ruling] = (
            await session.scalars(select(Ruling).where(Ruling.dispute_id == dispute.id))
        ).all()
        notes = (
            await session.scalars(
                select(TaskTransition.reason).where(
                    TaskTransition.task_id == lead.id, TaskTransition.action == "ruling"
                )
            )
        ).all()
    assert ruling.legal_basis.startswith(NOISE_LAW)
    assert "事项清单 ENV-NOISE-LIFE" in ruling.legal_basis
    assert (ruling.lead_department_id, ruling.reason) == (LEAD, "夜间经营噪声")
    assert notes == [f"legal basis: {ruling.legal_basis}"]


async def test_a_reassignment_needs_a_legal_basis_and_writes_it_into_the_tasks_history(
    sessions, outbox
):
    lead = await _dispatched(sessions, outbox)

    async def reassign(basis):
        async with sessions() as session, session.begin():
            return await service.reassign_task(
                session,
                outbox,
                LISTS,
                lead.id,
                act=_city(5),
                department_id=MARKET,
                citation=service.Citation(typed=basis, reason="烧烤店占道经营属市场监管"),
            )

    with pytest.raises(service.MissingLegalBasis, match="a reassignment needs"):
        await reassign(None)
    typed = "《无证无照经营查处办法》第五条"
    new = await reassign(typed)
    async with sessions() as session:
        reasons = (
            await session.scalars(
                select(TaskTransition.reason).where(TaskTransition.task_id.in_([lead.id, new.id]))
            )
        ).all()
    assert sum(typed in (r or "") for r in reasons) == 2  # the withdrawal and the new lead's


async def test_history_cannot_be_altered_or_removed_in_the_database(sessions, outbox):
    dispute = await _disputed(sessions, outbox)
    lead = await _rule(sessions, outbox, dispute, service.Citation(typed=NOISE_LAW))
    async with sessions() as session, session.begin():
        session.add(
            Escalation(
                id=uuid.uuid4(),
                task_id=lead.id,
                demand_id=lead.demand_id,
                department_id=lead.department_id,
                unit_code=lead.unit_code,
                coordinator_unit_code=DISTRICT,
                matter_code=lead.matter_code,
                stage="sign",
                level=1,
                supervised=False,
                due_at=T0,
                act_by=None,
                reason="not signed by its deadline",
                state="open",
                opened_at=T0,
            )
        )
    attempts = [
        "UPDATE routing.task_transitions SET reason = 'nothing happened' WHERE task_id = :task",
        "DELETE FROM routing.task_transitions WHERE task_id = :task",
        "UPDATE routing.rulings SET legal_basis = '无' WHERE demand_id = :demand",
        "DELETE FROM routing.rulings WHERE demand_id = :demand",
        "UPDATE routing.escalations SET reason = 'never late' WHERE task_id = :task",
        "UPDATE routing.escalations SET coordinator_unit_code = '330500000000',"
        " state = 'resolved', closed_at = now() WHERE task_id = :task",
        "DELETE FROM routing.escalations WHERE task_id = :task",
        "TRUNCATE routing.task_transitions CASCADE",
    ]
    for statement in attempts:
        with pytest.raises(DBAPIError, match="append-only history"):
            async with sessions() as session, session.begin():
                await session.execute(text(statement), {"task": lead.id, "demand": lead.demand_id})
    # Closing an open escalation, once, is what the escalation engine does: allowed, then final.
    close = (
        "UPDATE routing.escalations SET state = 'resolved', closed_at = now(),"
        " closed_by = 'coordinator:district', closed_reason = 'acted' WHERE task_id = :task"
    )
    async with sessions() as session, session.begin():
        await session.execute(text(close), {"task": lead.id})
    with pytest.raises(DBAPIError, match="append-only history"):
        async with sessions() as session, session.begin():
            await session.execute(text(close.replace("acted", "again")), {"task": lead.id})
    async with sessions() as session:
        kept = await session.scalar(
            select(Ruling.legal_basis).where(Ruling.dispute_id == dispute.id)
        )
        steps = (
            await session.scalars(
                select(TaskTransition.id).where(TaskTransition.task_id == lead.id)
            )
        ).all()
    assert kept == NOISE_LAW
    assert len(steps) >= 2  # its assignment and the ruling's note, untouched
