"""Escalations through the running system: routing's sweeper fires, the relay publishes on the
chain's escalation topics, `liandong watch escalations` prints what lies beneath its unit, and
coordinators read the same over GET /v1/escalations within their jurisdiction only."""

import asyncio
import contextlib
import json
import re
import sys
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select, text

from services.routing.models import Task
from services.runtime.auth import Role, issue_token
from services.runtime.db import create_session_factory
from tests.conftest import AUTH_SECRET
from tests.kafka_helpers import eventually

CITY, WUXING, NANXUN = "330500000000", "330502000000", "330503000000"
# Garbage left in a community is the community committee's (power list, community level).
GARBAGE = "小区垃圾堆放多日无人清理，臭味很大，请尽快处理"
COMMUNITIES = {"wuxing": "330502001016", "nanxun": "330503001001"}
STREET_OFFICE = "330502001000.street_office"


def _bearer(role, **claims):
    sub = f"{role.value}:{claims.get('unit_code') or claims.get('department_id') or 'hotline'}"
    token = issue_token(AUTH_SECRET, sub=sub, role=role, now=datetime.now(UTC), **claims)
    return {"Authorization": f"Bearer {token}"}


class Watcher:
    """`liandong watch escalations --unit U --json` as its own process, lines collected."""

    def __init__(self, unit, env):
        self.unit, self.env, self.lines = unit, env, []

    async def __aenter__(self):
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.cli", "watch", "escalations", "--unit", self.unit,
            "--json", "--from-beginning", env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self):
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(json.loads(line))

    def escalations_of(self, task_ids):
        return {
            e["task_id"]: e
            for e in self.lines
            if e["type"] == "cn.liandong.task.escalated.v1" and e["task_id"] in task_ids
        }

    async def __aexit__(self, *_exc):
        self.process.terminate()
        with contextlib.suppress(ProcessLookupError):
            await asyncio.wait_for(self.process.wait(), timeout=10)
        self.reader.cancel()


async def _lead_task(sessions, demand_id):
    async def check():
        async with sessions() as session:
            return await session.scalar(select(Task).where(Task.demand_id == demand_id))

    return await eventually(check, timeout_s=30)


@pytest.mark.usefixtures("system")
async def test_a_city_watcher_sees_escalations_of_every_district_and_a_district_only_its_own(
    services, infra, engine
):
    urls = services.urls
    sessions = create_session_factory(engine)
    async with httpx.AsyncClient(timeout=10) as client:
        tasks = {}
        for place, community in COMMUNITIES.items():
            response = await client.post(
                f"{urls['intake']}/v1/demands",
                headers=_bearer(Role.channel),
                json={
                    "channel": "hotline",
                    "content": GARBAGE,
                    "location": {"unit_code": community},
                    "citizen": {"name": "孙八", "phone": "13600000000"},
                },
            )
            assert response.status_code == 201, response.text
            tasks[place] = await _lead_task(sessions, uuid.UUID(response.json()["demand_id"]))
        ids = {str(t.id) for t in tasks.values()}

        env = {**infra.env(), "PYTHONUNBUFFERED": "1"}
        async with Watcher(CITY, env) as city, Watcher(NANXUN, env) as nanxun:
            # No one signs: move both sign deadlines to now (instead of waiting two working
            # hours); the running routing service's sweeper does the rest.
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE routing.deadlines SET due_at = now() "
                        "WHERE task_id = ANY(CAST(:ids AS uuid[])) AND stage = 'sign'"
                    ),
                    {"ids": [t.id for t in tasks.values()]},
                )

            async def both_seen():
                found = city.escalations_of(ids)
                return found if len(found) == 2 else None

            async def nanxun_seen():
                return nanxun.escalations_of(ids) or None

            seen = await eventually(both_seen, timeout_s=40)
            for place, task in tasks.items():
                escalation = seen[str(task.id)]
                # the first coordinator of the chain copied onto the task, in its district
                assert escalation["coordinator_unit_code"] == task.chain[0]
                assert task.chain[0][:6] == COMMUNITIES[place][:6]
                assert (escalation["stage"], escalation["level"]) == ("sign", 1)
                assert "13600000000" not in json.dumps(escalation)
            wuxing_task = tasks["wuxing"]
            clerk_of_task = _bearer(Role.department, department_id=wuxing_task.department_id)
            view = await client.get(
                f"{urls['routing']}/v1/tasks/{wuxing_task.id}", headers=clerk_of_task
            )
            assert (view.json()["escalated_to"], view.json()["escalation_level"]) == (
                wuxing_task.chain[0],
                1,
            )
            await eventually(nanxun_seen, timeout_s=20)
            await asyncio.sleep(2)  # time for anything it should not have seen
            assert set(nanxun.escalations_of(ids)) == {str(tasks["nanxun"].id)}

        listed = await client.get(
            f"{urls['routing']}/v1/escalations", headers=_bearer(Role.coordinator, unit_code=CITY)
        )
        assert listed.status_code == 200
        assert ids <= {e["task_id"] for e in listed.json()}
        wuxing = _bearer(Role.coordinator, unit_code=WUXING)
        own = await client.get(f"{urls['routing']}/v1/escalations", headers=wuxing)
        assert str(tasks["wuxing"].id) in {e["task_id"] for e in own.json()}
        assert str(tasks["nanxun"].id) not in {e["task_id"] for e in own.json()}
        other = await client.get(
            f"{urls['routing']}/v1/escalations", params={"unit": NANXUN}, headers=wuxing
        )
        assert other.status_code == 403
        bad = await client.get(
            f"{urls['routing']}/v1/escalations", params={"unit": "330599999999"}, headers=wuxing
        )
        assert bad.status_code in (403, 422)
        # Two sweepers ran (routing's own and `liandong escalator`): together they fired both.
        fired = 0.0
        for service in ("routing", "escalator"):
            metrics = (await client.get(f"{urls[service]}/metrics")).text
            count = re.search(
                r'^liandong_timers_fired_total\{kind="escalation"\} (\S+)$', metrics, re.M
            )
            assert count is not None, service
            fired += float(count.group(1))
            assert re.search(r"^liandong_stuck_tasks \S+$", metrics, re.M)
        assert fired >= 2
        ready = (await client.get(f"{urls['routing']}/health/ready")).json()
        assert set(ready["reports"]["deadlines"]) >= {"ok", "stuck_tasks", "sweeper_lag_s"}
        escalator = (await client.get(f"{urls['escalator']}/health/ready")).json()
        assert escalator["checks"]["escalation-sweeper"] is True
        clerk = _bearer(Role.department, department_id=STREET_OFFICE)
        assert (
            await client.get(f"{urls['routing']}/v1/escalations", headers=clerk)
        ).status_code == 403
