"""The lists the desks page through, on the real database: a department's open tasks nearest
deadline first and searched; a coordinator's open tasks of its jurisdiction by matter,
department, stage and lateness, and their counts."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from services.routing import task_lists
from services.routing.models import Task
from services.routing.task_lists import OpenTaskFilter
from tests.integration.test_returns_and_disputes import T0


def _district() -> str:
    """A district code of its own for each test (the database is shared by the suite)."""
    return f"{random.randrange(4000, 9999)}{random.randrange(1, 99):02d}000000"


def _task(
    unit: str,
    department: str,
    *,
    state: str = "assigned",
    matter: str = "ENV-NOISE-LIFE",
    due_in: timedelta = timedelta(hours=4),
    content: str = "噪音扰民",
    escalated: bool = False,
) -> Task:
    """An open lead task whose current stage falls due `due_in` after T0."""
    due = T0 + due_in
    return Task(
        id=uuid.uuid4(), demand_id=uuid.uuid4(), role="lead", department_id=department,
        department_name="测试单位", unit_code=unit, demand_unit_code=unit, matter_code=matter,
        demand_type="complaint", urgency="normal", content=content, address=None,
        citizen_name="市民", citizen_phone="13900000000", state=state, version=1,
        sign_due_at=due if state == "assigned" else T0 - timedelta(days=9),
        first_contact_due_at=due if state == "signed" else T0 - timedelta(days=9),
        reply_due_at=due if state in ("contacted", "replied") else T0 + timedelta(days=30),
        lists_version="test", rule="test", created_at=T0 - timedelta(hours=1),
        updated_at=T0, chain=[unit[:4] + "00000000"], fired=[],
        escalation_id=uuid.uuid4() if escalated else None,
        escalation_level=1 if escalated else None,
    )  # fmt: skip


async def _store(sessions, *tasks: Task) -> None:
    async with sessions() as session, session.begin():
        session.add_all(tasks)


async def _open(sessions, where: OpenTaskFilter, *, limit: int = 50) -> tuple[int, list[Task]]:
    async with sessions() as session:
        return await task_lists.open_tasks_within(session, where, limit=limit, offset=0)


async def test_a_coordinator_lists_the_open_tasks_beneath_it_nearest_deadline_first(sessions):
    district = _district()
    street = district[:6] + "001000"
    community = district[:6] + "001002"
    later = _task(community, f"{community}.committee", due_in=timedelta(hours=8))
    sooner = _task(street, f"{street}.office", state="signed", due_in=timedelta(hours=1))
    at_district = _task(district, f"{district}.urban", state="contacted", due_in=timedelta(hours=3))
    replied = _task(community, f"{community}.committee", state="replied")
    elsewhere = _task(_district(), "other.department")
    await _store(sessions, later, sooner, at_district, replied, elsewhere)

    total, found = await _open(sessions, OpenTaskFilter(unit_code=district))
    assert total == 3
    assert [t.id for t in found] == [sooner.id, at_district.id, later.id]

    total, found = await _open(sessions, OpenTaskFilter(unit_code=street))
    assert (total, [t.id for t in found]) == (2, [sooner.id, later.id])

    total, found = await _open(sessions, OpenTaskFilter(unit_code=district), limit=1)
    assert (total, len(found)) == (3, 1)  # the total counts every page


async def test_the_open_tasks_filter_by_matter_department_stage_lateness_and_escalation(sessions):
    district = _district()
    community = district[:6] + "002003"
    noise = _task(community, "a.committee", due_in=timedelta(hours=-2), escalated=True)
    garbage = _task(community, "a.committee", matter="CITY-GARBAGE", due_in=timedelta(hours=5))
    other = _task(community, "b.committee", state="signed", due_in=timedelta(minutes=-1))
    await _store(sessions, noise, garbage, other)

    async def ids(**filters: object) -> set[uuid.UUID]:
        where = OpenTaskFilter(unit_code=district, **filters)  # type: ignore[arg-type]
        return {t.id for t in (await _open(sessions, where))[1]}

    assert await ids(matter_code="CITY-GARBAGE") == {garbage.id}
    assert await ids(department_id="b.committee") == {other.id}
    assert await ids(state="assigned") == {noise.id, garbage.id}
    assert await ids(late_at=T0) == {noise.id, other.id}
    assert await ids(escalated=True) == {noise.id}
    assert await ids(escalated=False) == {garbage.id, other.id}
    assert await ids(late_at=T0, department_id="a.committee") == {noise.id}

    async with sessions() as session:
        counts = await task_lists.open_task_counts(session, district, T0)
    assert counts == {"open": 3, "late": 2, "escalated": 1}


async def test_a_department_reads_its_open_tasks_nearest_deadline_first_and_searches(sessions):
    unit = _district()
    department = f"{unit}.dept{uuid.uuid4().hex[:6]}"
    first = _task(unit, department, state="signed", due_in=timedelta(hours=1), content="路灯不亮")
    second = _task(unit, department, due_in=timedelta(hours=2), content="噪音 100% 扰民")
    done = _task(unit, department, state="replied", content="路灯已修")
    await _store(sessions, second, first, done)

    async def listed(*, open_only: bool, text: str | None = None) -> list[uuid.UUID]:
        async with sessions() as session:
            found = await task_lists.tasks_of_department(
                session, department, state=None, open_only=open_only, text=text,
                limit=50, offset=0,
            )  # fmt: skip
        return [t.id for t in found]

    assert await listed(open_only=True) == [first.id, second.id]
    assert set(await listed(open_only=False)) == {first.id, second.id, done.id}
    assert await listed(open_only=True, text="路灯") == [first.id]
    assert set(await listed(open_only=False, text="路灯")) == {first.id, done.id}
    assert await listed(open_only=False, text="100%") == [second.id]  # % is a character here
    assert await listed(open_only=False, text="0%扰") == []
