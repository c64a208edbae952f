"""Duplicates: a similar demand on the same matter in the same community joins the open task;
its citizen follows that task; a coordinator can separate it again."""

import asyncio
import json
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from contracts.events import (
    DemandEvaluated,
    DemandNotEvaluated,
    ReplyResult,
    Satisfaction,
    Urgency,
)
from contracts.lists.calendar import TimeLimit
from services.routing import repository, service
from services.routing.models import DemandLink, Dispute, Task, TaskTransition, tables
from tests.integration.test_returns_and_disputes import CO, LEAD, LISTS, T0, _classified, _return

POLICY = service.DuplicatePolicy(window=timedelta(hours=72), similarity=0.6)


def _demand(content, unit="330502001016"):
    return _classified(uuid.uuid4()).model_copy(update={"content": content, "unit_code": unit})


async def _dispatch(sessions, outbox, event, at):
    async with sessions() as session, session.begin():
        return await service.dispatch_demand(
            session, outbox, LISTS, event, now=at, duplicates=POLICY
        )


async def _statuses(sessions, demand_id):
    async with sessions() as session:
        rows = await session.execute(
            select(tables.outbox.c.value).where(
                tables.outbox.c.key == str(demand_id), tables.outbox.c.topic == "demand.status"
            )
        )
        return [bytes(r[0]).decode() for r in rows]


def test_similarity_of_chinese_texts():
    assert (
        service.text_similarity("月河小区楼下烧烤店夜间噪音扰民", "月河小区楼下烧烤店夜里噪音扰民")
        > 0.6
    )
    assert service.text_similarity("楼下烧烤店夜间噪音扰民", "小区门口垃圾桶满了") < 0.2
    assert service.text_similarity("", "噪音") == 0.0


async def test_a_similar_demand_joins_the_open_task_and_follows_it(sessions, outbox):
    tag = uuid.uuid4().hex[:6]
    original = await _dispatch(
        sessions, outbox, _demand(f"编号{tag}月河小区楼下烧烤店夜间噪音扰民"), T0
    )
    second = _demand(f"编号{tag}月河小区楼下烧烤店夜里噪音扰民")
    joined = await _dispatch(sessions, outbox, second, T0 + timedelta(hours=5))
    assert joined.id == original.id
    async with sessions() as session:
        assert await session.scalar(select(Task).where(Task.demand_id == second.demand_id)) is None
        link = await session.scalar(
            select(DemandLink).where(DemandLink.demand_id == second.demand_id)
        )
    assert link.task_id == original.id
    assert any(
        '"assigned"' in s and "合并办理" in s for s in await _statuses(sessions, second.demand_id)
    )

    async with sessions() as session, session.begin():
        await service.sign_task(
            session,
            outbox,
            service.DepartmentAct(
                task_id=original.id, department_id=LEAD, actor="clerk", now=T0 + timedelta(hours=6)
            ),
        )
    assert any('"signed"' in s for s in await _statuses(sessions, second.demand_id))

    # Not its duplicate after all: the coordinator separates it, and it gets its own tasks.
    async with sessions() as session, session.begin():
        own = await service.undo_duplicate(
            session, outbox, LISTS, link.id,
            act=service.CoordinatorAct("330502000000", "coordinator:wuxing", T0 + timedelta(hours=7)),
        )  # fmt: skip
    assert own is not None
    assert own.demand_id == second.demand_id
    assert own.id != original.id


async def test_other_texts_other_communities_and_old_tasks_are_not_duplicates(sessions, outbox):
    tag = uuid.uuid4().hex[:6]
    text = f"编号{tag}朝阳街道车站社区楼下烧烤店夜间噪音扰民"
    original = await _dispatch(sessions, outbox, _demand(text, unit="330502002009"), T0)
    different = await _dispatch(
        sessions, outbox, _demand(f"编号{tag}车站社区广场舞音响太吵", unit="330502002009"), T0
    )
    elsewhere = await _dispatch(sessions, outbox, _demand(text, unit="330502002020"), T0)
    later = await _dispatch(
        sessions, outbox, _demand(text, unit="330502002009"), T0 + timedelta(hours=73)
    )
    assert original.id not in {different.id, elsewhere.id, later.id}


async def test_a_batch_dispatches_each_demand_as_alone_and_links_within_itself(sessions, outbox):
    tag = uuid.uuid4().hex[:6]
    first = _demand(f"编号{tag}龙泉小区楼下烧烤店夜间噪音扰民")
    again = _demand(f"编号{tag}龙泉小区楼下烧烤店夜里噪音扰民")  # in the same batch
    async with sessions() as session, session.begin():
        leads = await service.dispatch_demands(
            session, outbox, LISTS, [first, again], now=T0, duplicates=POLICY
        )
    assert leads[1] == leads[0]  # joined the task the batch created for the first
    async with sessions() as session:
        tasks = (await session.scalars(select(Task).where(Task.demand_id == first.demand_id))).all()
        link = await session.scalar(
            select(DemandLink).where(DemandLink.demand_id == again.demand_id)
        )
        notes = (
            await session.scalars(
                select(TaskTransition.action)
                .where(TaskTransition.task_id == leads[0])
                .order_by(TaskTransition.id)
            )
        ).all()
    # Lead and co-handler, as `dispatch_demand` makes them one at a time.
    assert sorted((t.role, t.department_id) for t in tasks) == [
        ("co_handler", "330502000000.public_security"),
        ("lead", LEAD),
    ]
    lead = next(t for t in tasks if t.role == "lead")
    assert (lead.id, lead.citizen_phone, lead.version, lead.fired) == (
        leads[0],
        first.citizen.phone,
        1,
        [],
    )
    # a district bureau: its district's 12345 sub-centre first, then the city (supervision)
    assert lead.chain == ["330502000000", "330500000000"]
    assert next(t for t in tasks if t.role == "co_handler").citizen_phone is None
    assert link.task_id == leads[0]
    assert notes == ["assign", "link-duplicate"]
    assert any("合并办理" in s for s in await _statuses(sessions, again.demand_id))


async def _link(sessions, demand_id):
    async with sessions() as session:
        return await session.scalar(select(DemandLink).where(DemandLink.demand_id == demand_id))


async def _merged_pair(sessions, outbox, place):
    tag = uuid.uuid4().hex[:6]
    original = await _dispatch(
        sessions, outbox, _demand(f"编号{tag}{place}楼下烧烤店夜间噪音扰民"), T0
    )
    second = _demand(f"编号{tag}{place}楼下烧烤店夜里噪音扰民")
    assert (await _dispatch(sessions, outbox, second, T0 + timedelta(minutes=5))).id == original.id
    return original, second


async def test_a_merged_demand_follows_its_lead_through_returns_a_dispute_and_the_ruling(
    sessions, outbox
):
    original, second = await _merged_pair(sessions, outbox, "龙溪小区")
    # The lead returns it: the next candidate leads, and the merged demand goes with it.
    await _return(sessions, outbox, original, at=T0 + timedelta(minutes=30), department=LEAD)
    async with sessions() as session:
        (now_leading,) = (
            await session.scalars(
                select(Task).where(
                    Task.demand_id == original.demand_id,
                    Task.role == "lead",
                    Task.state == "assigned",
                )
            )
        ).all()
    assert now_leading.department_id == CO
    assert (await _link(sessions, second.demand_id)).task_id == now_leading.id
    assert any(CO in s and '"assigned"' in s for s in await _statuses(sessions, second.demand_id))

    # It is returned again: a dispute; the merged demand waits with it, then follows the ruling.
    await _return(sessions, outbox, now_leading, at=T0 + timedelta(minutes=50), department=CO)
    assert any('"triage"' in s for s in await _statuses(sessions, second.demand_id))
    async with sessions() as session:
        dispute = await session.scalar(
            select(Dispute).where(Dispute.demand_id == original.demand_id)
        )
    async with sessions() as session, session.begin():
        ruled = await service.rule_dispute(
            session,
            outbox,
            LISTS,
            dispute.id,
            act=service.CoordinatorAct(
                coordinator_unit="330500000000", actor="coordinator", now=T0 + timedelta(hours=1)
            ),
            lead_department_id=LEAD,
            co_handler_department_ids=[],
            citation=service.Citation(from_lists=True),
        )
    assert (await _link(sessions, second.demand_id)).task_id == ruled.id

    # The ruled lead replies: the merged demand's citizen hears it too, and can rate it.
    at = T0 + timedelta(hours=2)
    async with sessions() as session, session.begin():
        await service.sign_task(
            session,
            outbox,
            service.DepartmentAct(task_id=ruled.id, department_id=LEAD, actor="c", now=at),
        )
        await service.contact_task(
            session,
            outbox,
            service.DepartmentAct(task_id=ruled.id, department_id=LEAD, actor="c", now=at),
        )
        await service.reply_task(
            session,
            outbox,
            service.DepartmentAct(task_id=ruled.id, department_id=LEAD, actor="c", now=at),
            result=ReplyResult.resolved,
            reply_text="已责令烧烤店夜间停止营业，已电话告知13700000000",
        )
    merged = await _statuses(sessions, second.demand_id)
    assert any('"replied"' in s and "停止营业" in s for s in merged)
    # another citizen's number, quoted in the reply, is masked for the merged demand's citizen
    assert not any("13700000000" in s for s in merged)
    assert any("137****0000" in s for s in merged)
    assert any("13700000000" in s for s in await _statuses(sessions, original.demand_id))


async def test_a_merged_demand_follows_a_reassigned_lead(sessions, outbox):
    original, second = await _merged_pair(sessions, outbox, "杨家埠小区")
    async with sessions() as session, session.begin():
        new_lead = await service.reassign_task(
            session,
            outbox,
            LISTS,
            original.id,
            act=service.CoordinatorAct(
                coordinator_unit="330500000000", actor="coordinator", now=T0 + timedelta(hours=1)
            ),
            department_id="330502000000.market_regulation",
            citation=service.Citation(from_lists=True, reason="经营许可问题"),
        )
    assert (await _link(sessions, second.demand_id)).task_id == new_lead.id
    assert any(
        "market_regulation" in s and '"assigned"' in s
        for s in await _statuses(sessions, second.demand_id)
    )


async def test_a_lead_that_moves_on_while_a_duplicate_arrives_is_not_joined(
    sessions, outbox, engine
):
    """The open leads are read without a lock; the one chosen is locked and checked again, so a
    demand never joins a task a clerk replied to meanwhile (it would never hear the reply)."""
    tag = uuid.uuid4().hex[:6]
    original = await _dispatch(
        sessions, outbox, _demand(f"编号{tag}环渚小区楼下烧烤店夜间噪音扰民"), T0
    )
    at = T0 + timedelta(hours=1)
    async with sessions() as session, session.begin():
        await service.sign_task(
            session,
            outbox,
            service.DepartmentAct(task_id=original.id, department_id=LEAD, actor="c", now=at),
        )
        await service.contact_task(
            session,
            outbox,
            service.DepartmentAct(task_id=original.id, department_id=LEAD, actor="c", now=at),
        )
    second = _demand(f"编号{tag}环渚小区楼下烧烤店夜里噪音扰民")
    async with sessions() as clerk, clerk.begin():
        # The clerk is replying (the task row is locked) when the duplicate arrives.
        await service.reply_task(
            clerk,
            outbox,
            service.DepartmentAct(task_id=original.id, department_id=LEAD, actor="c", now=at),
            result=ReplyResult.resolved,
            reply_text="已处理",
        )
        arriving = asyncio.create_task(_dispatch(sessions, outbox, second, at))
        async with engine.connect() as probe:
            for _ in range(200):  # until the dispatch waits for the clerk's lock (or is done)
                waiting = await probe.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
                if waiting or arriving.done():
                    break
                await asyncio.sleep(0.05)
        assert not arriving.done()  # it waits for the clerk instead of joining a stale task
    own = await arriving
    assert own.id != original.id
    assert own.demand_id == second.demand_id
    assert await _link(sessions, second.demand_id) is None


def _fire(content, urgency):
    return _demand(content, unit="330502001016").model_copy(
        update={"matter_code": "SAFETY-FIRE-HAZARD", "urgency": urgency}
    )


async def test_a_more_urgent_demand_is_never_merged_into_a_slower_task(sessions, outbox):
    """A fire reported on a blocked fire passage must not wait with the urgent task's limits:
    a demand more urgent than the open task is dispatched on its own."""
    tag = uuid.uuid4().hex[:6]
    text = f"编号{tag}月河小区3幢楼道消防通道被杂物堵塞，存在消防安全隐患"
    blocked = await _dispatch(sessions, outbox, _fire(text, Urgency.urgent), T0)
    fire = _fire(text + "，现在楼道起火了", Urgency.critical)
    assert service.text_similarity(text, fire.content) >= POLICY.similarity
    own = await _dispatch(sessions, outbox, fire, T0 + timedelta(minutes=10))
    assert own.id != blocked.id
    assert (own.demand_id, own.urgency) == (fire.demand_id, "critical")
    assert own.reply_due_at < blocked.reply_due_at
    assert await _link(sessions, fire.demand_id) is None
    # As urgent or less urgent than the open task: it joins it as before.
    again = _fire(text + "，请尽快处理", Urgency.urgent)
    calmer = _fire(text + "，麻烦处理一下", Urgency.normal)
    for later in (again, calmer):
        joined = await _dispatch(sessions, outbox, later, T0 + timedelta(minutes=20))
        assert joined.id in (blocked.id, own.id)
        assert (await _link(sessions, later.demand_id)) is not None


async def _status_events(sessions, demand_id):
    """The demand's statuses in the order routing wrote them."""
    async with sessions() as session:
        rows = await session.execute(
            select(tables.outbox.c.value)
            .where(tables.outbox.c.key == str(demand_id), tables.outbox.c.topic == "demand.status")
            .order_by(tables.outbox.c.id)
        )
        return [json.loads(bytes(r[0])) for r in rows]


def _evaluated(demand_id, at, *, resolved, satisfaction):
    return DemandEvaluated(
        demand_id=demand_id, occurred_at=at, resolved=resolved, satisfaction=satisfaction
    )


async def _reply(sessions, outbox, task_id, at, text):
    async with sessions() as session, session.begin():
        await service.reply_task(
            session,
            outbox,
            service.DepartmentAct(task_id=task_id, department_id=LEAD, actor="c", now=at),
            result=ReplyResult.resolved,
            reply_text=text,
        )


async def test_merged_demands_follow_an_extension_and_a_redo_and_a_closed_one_stays_closed(
    sessions, outbox
):
    original, second = await _merged_pair(sessions, outbox, "潘公桥小区")
    tag = original.content[2:8]
    third = _demand(f"编号{tag}潘公桥小区楼下烧烤店晚上噪音扰民")
    assert (await _dispatch(sessions, outbox, third, T0 + timedelta(minutes=6))).id == original.id
    at = T0 + timedelta(minutes=30)
    async with sessions() as session, session.begin():
        await service.sign_task(
            session,
            outbox,
            service.DepartmentAct(task_id=original.id, department_id=LEAD, actor="c", now=at),
        )
        await service.contact_task(
            session,
            outbox,
            service.DepartmentAct(task_id=original.id, department_id=LEAD, actor="c", now=at),
        )
        await service.request_extension(
            session,
            outbox,
            service.DepartmentAct(task_id=original.id, department_id=LEAD, actor="c", now=at),
            requested=TimeLimit.parse("5 working_days"),
            reason="需现场勘查",
        )
        extension = await repository.pending_extension(session, original.id)
    assert extension is not None
    async with sessions() as session, session.begin():
        await service.decide_extension(
            session,
            outbox,
            LISTS,
            extension.id,
            act=service.CoordinatorAct(
                coordinator_unit="330500000000", actor="coord", now=at + timedelta(minutes=10)
            ),
            approve=True,
            note="同意",
            citation=service.Citation(from_lists=True),
        )
        task = await repository.get_task(session, original.id)
    assert task is not None
    extended = task.reply_due_at
    # (a) The merged citizens see the new expected reply time, as the original's citizen does.
    for demand in (original, second, third):
        last = (await _status_events(sessions, demand.demand_id))[-1]
        assert last["status"] == "signed"
        assert "延长" in last["note"]
        assert datetime.fromisoformat(last["expected_reply_at"]) == extended

    await _reply(sessions, outbox, original.id, at + timedelta(hours=1), "已责令整改")
    # The second citizen is dissatisfied: that closes their demand (the redo follows only the
    # original citizen's evaluation), and the link says so.
    async with sessions() as session, session.begin():
        await service.close_after_evaluation(
            session, outbox, LISTS,
            _evaluated(second.demand_id, at + timedelta(hours=2), resolved=False,
                       satisfaction=Satisfaction.dissatisfied),
            now=at + timedelta(hours=2),
        )  # fmt: skip
    link = await _link_row(sessions, second.demand_id)
    assert (link.state, link.closed_at) == ("closed", at + timedelta(hours=2))
    assert (await _status_events(sessions, second.demand_id))[-1]["status"] == "closed"

    # The original's citizen is dissatisfied: redo. The open merged demand is told (a).
    redo_at = at + timedelta(hours=3)
    async with sessions() as session, session.begin():
        await service.close_after_evaluation(
            session, outbox, LISTS,
            _evaluated(original.demand_id, redo_at, resolved=False,
                       satisfaction=Satisfaction.dissatisfied),
            now=redo_at,
        )  # fmt: skip
    last = (await _status_events(sessions, third.demand_id))[-1]
    assert last["status"] == "signed"
    assert "重办" in last["note"]
    assert last["expected_reply_at"] is not None

    # The redo's reply reaches the open merged demand, never the closed one (b).
    await _reply(sessions, outbox, original.id, redo_at + timedelta(hours=1), "已再次整改")
    assert [s["status"] for s in await _status_events(sessions, third.demand_id)][-1] == "replied"
    statuses = [s["status"] for s in await _status_events(sessions, second.demand_id)]
    assert statuses[-1] == "closed"
    assert statuses.count("replied") == 1
    # A closed merge is no longer listed for the coordinator, and cannot be undone.
    async with sessions() as session, session.begin():
        with pytest.raises(service.InvalidRuling, match="closed"):
            await service.undo_duplicate(
                session, outbox, LISTS, link.id,
                act=service.CoordinatorAct("330500000000", "coord", redo_at + timedelta(hours=2)),
            )  # fmt: skip


async def test_a_merged_demand_closed_as_not_evaluated_hears_nothing_more(sessions, outbox):
    original, second = await _merged_pair(sessions, outbox, "白雀小区")
    at = T0 + timedelta(minutes=30)
    async with sessions() as session, session.begin():
        await service.sign_task(
            session,
            outbox,
            service.DepartmentAct(task_id=original.id, department_id=LEAD, actor="c", now=at),
        )
        await service.contact_task(
            session,
            outbox,
            service.DepartmentAct(task_id=original.id, department_id=LEAD, actor="c", now=at),
        )
    await _reply(sessions, outbox, original.id, at, "已处理")
    closed_at = at + timedelta(days=3)
    async with sessions() as session, session.begin():
        await service.close_not_evaluated(
            session, outbox,
            DemandNotEvaluated(demand_id=second.demand_id, occurred_at=closed_at,
                               department_id=LEAD, replied_at=at, evaluate_by=closed_at),
            now=closed_at,
        )  # fmt: skip
    async with sessions() as session, session.begin():
        await service.close_after_evaluation(
            session, outbox, LISTS,
            _evaluated(original.demand_id, closed_at, resolved=False,
                       satisfaction=Satisfaction.dissatisfied),
            now=closed_at,
        )  # fmt: skip
    await _reply(sessions, outbox, original.id, closed_at + timedelta(hours=1), "已再次处理")
    statuses = [s["status"] for s in await _status_events(sessions, second.demand_id)]
    assert statuses[-2:] == ["replied", "closed"]
    assert (await _link_row(sessions, second.demand_id)).state == "closed"


async def _link_row(sessions, demand_id):
    async with sessions() as session:
        return await session.scalar(select(DemandLink).where(DemandLink.demand_id == demand_id))
