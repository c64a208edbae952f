"""Every service as its own process: a reply asks the citizen on citizen.notifications, a
hotline operator records a dissatisfied evaluation, routing sends the task back (重办), the
citizen is asked again, and feedback's league table counts what routing's task topics and the
evaluations said."""

import json
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx

from contracts import topics
from contracts.events import CallbackRequested
from services.runtime.auth import Role, issue_token, tracking_token
from tests.conftest import AUTH_SECRET
from tests.e2e.test_demand_to_closed import CHANNEL, NOISE_DEPT, _token
from tests.kafka_helpers import district_task_topics, eventually, header, read_records

PHONE = "13812340001"
DEMAND = {
    "channel": "hotline",
    "content": "月河社区楼下烧烤店每晚噪音扰民到凌晨两点，多次反映未解决",
    "location": {"unit_code": "330502001016"},
    "citizen": {"name": "李四", "phone": PHONE},
}


def _bearer(role, **claims):
    now = datetime.now(UTC)
    return {
        "Authorization": f"Bearer {issue_token(AUTH_SECRET, sub=f'{role.value}-e2e', role=role, now=now, **claims)}"
    }


async def _department_figures(client, feedback, month):
    response = await client.get(
        f"{feedback}/v1/rankings?by=department&month={month}",
        headers=_bearer(Role.coordinator, unit_code="330502000000"),
    )
    assert response.status_code == 200, response.text
    rows = {row["department_id"]: row["figures"] for row in response.json()["rows"]}
    return rows.get(NOISE_DEPT, {})


async def test_reply_callback_operator_evaluation_and_the_league_table(system, infra):
    urls, _ = system
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    async with httpx.AsyncClient(timeout=10) as client:
        before = await _department_figures(client, urls["feedback"], month)
        accepted = await client.post(f"{urls['intake']}/v1/demands", json=DEMAND, headers=CHANNEL)
        assert accepted.status_code == 201, accepted.text
        demand_id = accepted.json()["demand_id"]
        [record] = await read_records(
            infra.kafka_bootstrap_servers,
            district_task_topics(),
            lambda r: (
                header(r, "ce_demandid") == demand_id
                and header(r, "ce_type") == "cn.liandong.task.assigned.v1"
                and header(r, "ce_departmentid") == NOISE_DEPT
            ),
        )
        task_id = json.loads(record.value)["task_id"]
        task = f"{urls['routing']}/v1/tasks/{task_id}"
        lead = {"Authorization": f"Bearer {_token(NOISE_DEPT)}"}
        assert (await client.post(f"{task}/sign", headers=lead)).status_code == 200
        assert (await client.post(f"{task}/contact", headers=lead)).status_code == 200
        reply = "已约谈烧烤店经营者，22点后停止室外经营。"
        replied = await client.post(
            f"{task}/reply", headers=lead, json={"result": "resolved", "reply_text": reply}
        )
        assert replied.status_code == 200, replied.text

        # The callback request: for the SMS gateway only, with the phone and the link.
        [request] = await read_records(
            infra.kafka_bootstrap_servers,
            [topics.CITIZEN_NOTIFICATIONS],
            lambda r: r.key == demand_id.encode(),
            timeout_s=30,
        )
        event = CallbackRequested.model_validate_json(request.value)
        assert event.citizen_phone == PHONE
        assert event.reply_text == reply
        assert event.department_name == "吴兴区综合行政执法局"
        assert tracking_token(AUTH_SECRET, demand_id) in event.evaluation_url

        # The operator phoned the citizen: not solved. Routing sends the task back (重办); the
        # lead replies again and the citizen is asked again, round 2.
        operator = _bearer(Role.operator)
        url = f"{urls['feedback']}/v1/callbacks/{demand_id}/evaluation"
        unhappy = {"resolved": False, "satisfaction": "dissatisfied", "comment": "还是很吵"}
        evaluated = await client.post(url, json=unhappy, headers=operator)
        assert evaluated.status_code == 201, evaluated.text
        assert (await client.post(url, json=unhappy, headers=operator)).status_code == 409

        async def reopened():
            response = await client.get(task, headers=lead)
            return response.json()["state"] == "contacted"

        await eventually(reopened, timeout_s=30)
        again = "已没收烧烤设备，夜间巡查一周。"
        replied = await client.post(
            f"{task}/reply", headers=lead, json={"result": "resolved", "reply_text": again}
        )
        assert replied.status_code == 200, replied.text
        [second] = await read_records(
            infra.kafka_bootstrap_servers,
            [topics.CITIZEN_NOTIFICATIONS],
            lambda r: (
                r.key == demand_id.encode()
                and CallbackRequested.model_validate_json(r.value).reply_round == 2
            ),
            timeout_s=30,
        )
        assert CallbackRequested.model_validate_json(second.value).reply_text == again
        body = {"resolved": True, "satisfaction": "satisfied", "comment": "电话回访"}
        evaluated = await client.post(url, json=body, headers=operator)
        assert evaluated.status_code == 201, evaluated.text
        missing = await client.post(
            f"{urls['feedback']}/v1/callbacks/{uuid.uuid4()}/evaluation",
            json=body,
            headers=operator,
        )
        assert missing.status_code == 404

        # The league table counts the task (assigned, signed in time), both replies, both
        # evaluations and the redo.
        async def counted():
            after = await _department_figures(client, urls["feedback"], month)
            grown = {
                metric: after.get(metric, 0) - before.get(metric, 0)
                for metric in (
                    "assigned",
                    "responded_on_time",
                    "replied",
                    "evaluated",
                    "satisfied",
                    "redo",
                )
            }
            enough = {"replied": 2, "evaluated": 2}
            return after if all(n >= enough.get(m, 1) for m, n in grown.items()) else None

        after = await eventually(counted, timeout_s=30)
        assert after["satisfaction_rate"] is not None
