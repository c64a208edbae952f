"""Every service as its own process: contacts that leave triage at the desk. A consultation is
answered (直接办结), the citizen is asked to evaluate the answer on citizen.notifications and
evaluates it like any reply; praise reaches the department's task topic and the league table
counts it; a repeat contact merged into a routed demand follows that demand's task."""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx

from contracts import topics
from contracts.events import CallbackRequested
from contracts.lists import load_lists
from services.runtime.auth import Role, issue_token
from tests.conftest import AUTH_SECRET
from tests.e2e.test_demand_to_closed import CHANNEL
from tests.kafka_helpers import eventually, header, read_records

PRAISED_DEPT = "330502000000.urban_management"
# Every department of the district has its own task topic; the lead is read from all of them.
DISTRICT_TASKS = [
    t for t in topics.department_topics(load_lists()) if t.startswith("tasks.3305.330502.")
]
LEAD_DEPT = "330502000000.urban_management"  # leads a noise complaint in 月河社区
NOWHERE = {"address": "火星基地七号"}  # names no unit: the contact goes to triage


def _operator():
    now = datetime.now(UTC)
    token = issue_token(AUTH_SECRET, sub="operator:e2e-desk", role=Role.operator, now=now)
    return {"Authorization": f"Bearer {token}"}


async def _file(client, urls, content, phone):
    demand = {
        "channel": "hotline",
        "content": content,
        "location": NOWHERE,
        "citizen": {"name": "赵六", "phone": phone},
    }
    accepted = await client.post(f"{urls['intake']}/v1/demands", json=demand, headers=CHANNEL)
    assert accepted.status_code == 201, accepted.text
    return accepted.json()


async def _in_triage(client, urls, demand_id):
    async def queued():
        response = await client.get(
            f"{urls['classification']}/v1/triage", params={"limit": 200}, headers=_operator()
        )
        return next((i for i in response.json() if i["demand_id"] == demand_id), None)

    return await eventually(queued, timeout_s=30)


async def _tracked(client, urls, accepted, status):
    async def reached():
        response = await client.get(f"{urls['intake']}{accepted['tracking_url']}")
        body = response.json()
        return body if body["status"] == status else None

    return await eventually(reached, timeout_s=30)


async def test_a_consultation_answered_at_the_desk_is_evaluated_like_any_reply(system, infra):
    urls, _ = system
    phone = "13812340077"
    async with httpx.AsyncClient(timeout=10) as client:
        accepted = await _file(client, urls, "请问新生儿医保怎么办理，需要什么材料？", phone)
        demand_id = accepted["demand_id"]
        item = await _in_triage(client, urls, demand_id)
        assert "consultation" in [e["exit"] for e in item["suggestions"]["exits"]]
        answer = "新生儿出生后持出生医学证明和户口簿到社区服务中心参保，当月起享受待遇。"
        response = await client.post(
            f"{urls['classification']}/v1/triage/{demand_id}/answer",
            json={"answer": answer},
            headers=_operator(),
        )
        assert response.status_code == 200, response.text

        tracked = await _tracked(client, urls, accepted, "closed")
        assert tracked["timeline"][-1]["note"] == f"直接办结：{answer}"
        assert tracked["department_name"] == "12345热线"

        # The citizen is asked to evaluate the answer, by SMS with the answer in it.
        [record] = await read_records(
            infra.kafka_bootstrap_servers,
            [topics.CITIZEN_NOTIFICATIONS],
            lambda r: r.key == demand_id.encode(),
            timeout_s=30,
        )
        request = CallbackRequested.model_validate_json(record.value)
        assert (request.reply_text, request.citizen_phone) == (answer, phone)
        assert request.department_name == "12345热线"
        token = request.evaluation_url.split("token=")[1]
        evaluated = await client.post(
            f"{urls['feedback']}/v1/demands/{demand_id}/evaluation",
            params={"token": token},
            json={"resolved": True, "satisfaction": "satisfied"},
        )
        assert evaluated.status_code == 201, evaluated.text
        [evaluation] = await read_records(
            infra.kafka_bootstrap_servers,
            [topics.DEMAND_EVALUATED],
            lambda r: r.key == demand_id.encode(),
            timeout_s=30,
        )
        assert json.loads(evaluation.value)["satisfaction"] == "satisfied"


async def _figure(client, urls, department_id, metric):
    """The department's count of `metric` this month in the league table."""
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    coordinator = issue_token(
        AUTH_SECRET,
        sub="coordinator-e2e",
        role=Role.coordinator,
        now=datetime.now(UTC),
        unit_code="330502000000",
    )
    response = await client.get(
        f"{urls['feedback']}/v1/rankings?by=department&month={month}",
        headers={"Authorization": f"Bearer {coordinator}"},
    )
    assert response.status_code == 200, response.text
    rows = {r["department_id"]: r["figures"] for r in response.json()["rows"]}
    return rows.get(department_id, {}).get(metric, 0)


async def test_praise_reaches_the_department_topic_and_is_counted(system, infra):
    urls, _ = system

    async def praised():
        return await _figure(client, urls, PRAISED_DEPT, "praised")

    async with httpx.AsyncClient(timeout=10) as client:
        before = await praised()
        accepted = await _file(
            client, urls, "我想表扬综合执法局的队员，半夜还来处理噪音", "13812340078"
        )
        demand_id = accepted["demand_id"]
        item = await _in_triage(client, urls, demand_id)
        assert item["suggestions"]["exits"][0]["exit"] == "praise"
        response = await client.post(
            f"{urls['classification']}/v1/triage/{demand_id}/praise",
            json={"department_id": PRAISED_DEPT},
            headers=_operator(),
        )
        assert response.status_code == 200, response.text
        [record] = await read_records(
            infra.kafka_bootstrap_servers,
            DISTRICT_TASKS,
            lambda r: (
                header(r, "ce_demandid") == demand_id
                and header(r, "ce_type") == "cn.liandong.task.department-praised.v1"
            ),
        )
        assert header(record, "ce_departmentid") == PRAISED_DEPT
        await _tracked(client, urls, accepted, "closed")

        async def counted():
            return (await praised()) >= before + 1

        await eventually(counted, timeout_s=30)


async def test_a_repeat_merged_at_the_desk_follows_the_routed_demand(system, infra):
    urls, _ = system
    async with httpx.AsyncClient(timeout=10) as client:
        original = await _file(client, urls, "小区门口路灯坏了一个月了没人修", "13812340079")
        await _in_triage(client, urls, original["demand_id"])
        routed = await client.post(
            f"{urls['classification']}/v1/triage/{original['demand_id']}/classify",
            json={"matter_code": "CITY-STREETLIGHT", "unit_code": "330502001016"},
            headers=_operator(),
        )
        assert routed.status_code == 200, routed.text
        await _tracked(client, urls, original, "assigned")
        repeat = await _file(client, urls, "小区门口路灯还是不亮，之前反映过", "13812340080")
        await _in_triage(client, urls, repeat["demand_id"])
        merged = await client.post(
            f"{urls['classification']}/v1/triage/{repeat['demand_id']}/merge",
            json={"into_demand_id": original["demand_id"]},
            headers=_operator(),
        )
        assert merged.status_code == 200, merged.text
        tracked = await _tracked(client, urls, repeat, "assigned")
        assert "合并办理" in tracked["timeline"][-1]["note"]


async def test_the_citizen_adds_to_then_withdraws_a_routed_demand(system, infra):
    urls, _ = system
    async with httpx.AsyncClient(timeout=10) as client:
        demand = {
            "channel": "hotline",
            "content": "月河社区楼下烧烤店每晚噪音扰民，油烟也很大",
            "location": {"unit_code": "330502001016"},
            "citizen": {"name": "孙八", "phone": "13812340081"},
        }
        before = await _figure(client, urls, LEAD_DEPT, "withdrawn")
        accepted = await client.post(f"{urls['intake']}/v1/demands", json=demand, headers=CHANNEL)
        assert accepted.status_code == 201, accepted.text
        accepted = accepted.json()
        demand_id = accepted["demand_id"]
        await _tracked(client, urls, accepted, "assigned")
        token = accepted["tracking_token"]

        added = await client.post(
            f"{urls['intake']}/v1/demands/{demand_id}/supplement",
            params={"token": token},
            json={"text": "烧烤店晚上十点以后最吵，电话13812340081"},
        )
        assert added.status_code == 201, added.text
        [supplement] = await read_records(
            infra.kafka_bootstrap_servers,
            DISTRICT_TASKS,
            lambda r: (
                header(r, "ce_demandid") == demand_id
                and header(r, "ce_type") == "cn.liandong.task.supplemented.v1"
            ),
        )
        body = json.loads(supplement.value)
        assert "十点以后" in body["text"]
        assert "13812340081" not in body["text"]  # masked on the topic

        withdrawn = await client.post(
            f"{urls['intake']}/v1/demands/{demand_id}/withdraw",
            params={"token": token},
            json={"reason": "店家已停止夜间经营"},
        )
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["status"] == "closed"
        records = await read_records(
            infra.kafka_bootstrap_servers,
            DISTRICT_TASKS,
            lambda r: (
                header(r, "ce_demandid") == demand_id
                and header(r, "ce_type") == "cn.liandong.task.withdrawn.v1"
            ),
        )
        assert records  # every open task's department is told
        assert all("市民撤诉" in json.loads(r.value)["reason"] for r in records)
        again = await client.post(
            f"{urls['intake']}/v1/demands/{demand_id}/withdraw", params={"token": token}
        )
        assert again.status_code == 409, again.text
        late = await client.post(
            f"{urls['intake']}/v1/demands/{demand_id}/supplement",
            params={"token": token},
            json={"text": "再补充一句"},
        )
        assert late.status_code == 409, late.text
        tracked = (await client.get(f"{urls['intake']}{accepted['tracking_url']}")).json()
        assert tracked["status"] == "closed"
        assert "撤诉" in tracked["timeline"][-1]["note"]

        async def counted():  # for the lead department, as withdrawn
            return await _figure(client, urls, LEAD_DEPT, "withdrawn") >= before + 1

        await eventually(counted, timeout_s=30)
