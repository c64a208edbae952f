"""A department's task topic is read by its department system and by feedback, neither of which
may see the citizen's numbers: the free text a clerk or a coordinator writes onto it (a reply, a
legal basis, a reason, a summons note) carries no citizen's number in clear. The citizen's own status topic still gets the reply as written."""

import uuid
from datetime import timedelta

from sqlalchemy import select

from contracts.events import ReplyResult, ReturnReason
from contracts.lists.calendar import TimeLimit
from services.routing import service
from services.routing.models import tables
from tests.integration.test_returns_and_disputes import (
    CO,
    LEAD,
    LISTS,
    T0,
    WINDOW,
    _classified,
)

PHONE = "13912345678"
WRITTEN = f"已电话联系诉求人（{PHONE}），身份证330502199001011234已核实"


async def _values(sessions, demand_id):
    async with sessions() as session:
        rows = await session.execute(
            select(tables.outbox.c.topic, tables.outbox.c.value).order_by(tables.outbox.c.id)
        )
        return [
            (topic, value.decode()) for topic, value in rows if str(demand_id) in value.decode()
        ]


async def test_free_text_on_the_task_topic_is_masked(sessions, outbox):
    kept, returned = uuid.uuid4(), uuid.uuid4()
    async with sessions() as session, session.begin():
        lead = await service.dispatch_demand(session, outbox, LISTS, _classified(kept), now=T0)
        other = await service.dispatch_demand(session, outbox, LISTS, _classified(returned), now=T0)
    assert lead is not None
    assert other is not None
    at = T0 + timedelta(minutes=10)
    async with sessions() as session, session.begin():
        await service.return_task(
            session,
            outbox,
            LISTS,
            service.DepartmentAct(task_id=other.id, department_id=LEAD, actor="clerk", now=at),
            reason_code=ReturnReason.not_our_duty,
            legal_basis=WRITTEN,
            window=WINDOW,
            max_returns=2,
        )
        await service.sign_task(
            session,
            outbox,
            service.DepartmentAct(task_id=lead.id, department_id=LEAD, actor="clerk", now=at),
        )
        await service.request_extension(
            session,
            outbox,
            service.DepartmentAct(task_id=lead.id, department_id=LEAD, actor="clerk", now=at),
            requested=TimeLimit.parse("2 working_days"),
            reason=WRITTEN,
        )
        await service.summon(
            session,
            outbox,
            LISTS,
            lead.id,
            act=service.CoordinatorAct(
                coordinator_unit="330502000000", actor="coordinator", now=at
            ),
            department_ids=[CO],
            arrive_within_minutes=30,
            note=WRITTEN,
        )
        await service.contact_task(
            session,
            outbox,
            service.DepartmentAct(task_id=lead.id, department_id=LEAD, actor="clerk", now=at),
        )
        await service.reply_task(
            session,
            outbox,
            service.DepartmentAct(task_id=lead.id, department_id=LEAD, actor="clerk", now=at),
            result=ReplyResult.resolved,
            reply_text=WRITTEN,
        )
    events = await _values(sessions, kept) + await _values(sessions, returned)
    on_task_topics = [value for topic, value in events if topic.startswith("tasks.")]
    assert sum("139****5678" in value for value in on_task_topics) >= 4  # the four texts above
    for value in on_task_topics:
        assert PHONE not in value, value
        assert "330502199001011234" not in value, value
    # the citizen reads the reply on the demand's status, as the clerk wrote it
    assert any(PHONE in value for topic, value in events if not topic.startswith("tasks."))
