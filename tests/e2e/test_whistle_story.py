"""The seed's story, every service as its own process: a neighbours' noise complaint lands with
the community or street (属地); the street coordinator blows the whistle (吹哨) on the district law-enforcement
bureau, which the summons list lets a street call in; a department with no power over the
matter is refused naming the rule; the bureau reports (报到) and co-handles; the community
replies citing the law; the citizen rates it; the month's league table shows both."""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx

from contracts import topics
from contracts.lists import load_lists
from services.runtime.auth import Role, issue_token
from tests.conftest import AUTH_SECRET
from tests.e2e.test_demand_to_closed import CHANNEL, _token, _until_status
from tests.kafka_helpers import eventually, header, read_records

COMMUNITY, STREET, DISTRICT = "330502001016", "330502001000", "330502000000"
COMMITTEE = f"{COMMUNITY}.community_committee"
BUREAU = f"{DISTRICT}.urban_management"  # 吴兴区综合行政执法局
DEMAND = {
    "channel": "hotline",
    "content": "邻里纠纷：楼上邻居每晚深夜聚会唱歌吵闹，邻居矛盾越来越大，社区调解两次无果",
    "matter_code": "CIVIL-NEIGHBOUR",
    "location": {"unit_code": COMMUNITY},
    "citizen": {"name": "周九", "phone": "13812340019"},
}
LAW = "依据《中华人民共和国噪声污染防治法》“社会生活噪声污染防治”章"


def _coordinator(unit_code):
    token = issue_token(
        AUTH_SECRET,
        sub=f"coordinator@{unit_code}",
        role=Role.coordinator,
        unit_code=unit_code,
        now=datetime.now(UTC),
    )
    return {"Authorization": f"Bearer {token}"}


def _as(department):
    return {"Authorization": f"Bearer {_token(department)}"}


async def _figures(client, feedback, month):
    response = await client.get(
        f"{feedback}/v1/rankings",
        params={"by": "department", "month": month},
        headers=_coordinator(DISTRICT),
    )
    assert response.status_code == 200, response.text
    return {row["department_id"]: row["figures"] for row in response.json()["rows"]}


def _grown(after, before, department, metric):
    return after.get(department, {}).get(metric, 0) - before.get(department, {}).get(metric, 0)


async def test_a_street_summons_the_district_bureau_over_a_noise_complaint(system, infra):
    urls, _ = system
    routing, feedback = urls["routing"], urls["feedback"]
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    async with httpx.AsyncClient(timeout=10) as client:
        before = await _figures(client, feedback, month)
        accepted = await client.post(f"{urls['intake']}/v1/demands", json=DEMAND, headers=CHANNEL)
        assert accepted.status_code == 201, accepted.text
        demand_id, token = accepted.json()["demand_id"], accepted.json()["tracking_token"]
        [record] = await read_records(
            infra.kafka_bootstrap_servers,
            # the lead is a department of 吴兴区: each has its own task topic
            [
                t
                for t in topics.department_topics(load_lists())
                if t.startswith("tasks.3305.330502.")
            ],
            lambda r: (
                header(r, "ce_demandid") == demand_id
                and header(r, "ce_type") == "cn.liandong.task.assigned.v1"
            ),
        )
        lead_task = json.loads(record.value)
        assert lead_task["matter_code"] == "CIVIL-NEIGHBOUR"
        # 属地: the community, or the street when classification read a street's matter in it
        owner = lead_task["department_id"]
        assert owner in (COMMITTEE, f"{STREET}.street_office")
        lead = f"{routing}/v1/tasks/{lead_task['task_id']}"

        # The street blows the whistle. A bureau the lists give no part in the matter: refused.
        street = _coordinator(STREET)
        summons = f"{lead}/summons"
        note = {"arrive_within_minutes": 30, "note": "南街12号楼现场会商"}
        refused = await client.post(
            summons, headers=street, json={"department_ids": [f"{DISTRICT}.education"], **note}
        )
        assert refused.status_code == 403
        assert "holds no power over CIVIL-NEIGHBOUR" in refused.text
        assert "summons:CIVIL-NEIGHBOUR@district" in refused.text
        called = await client.post(
            summons, headers=street, json={"department_ids": [BUREAU], **note}
        )
        assert called.status_code == 200, called.text
        [whistle] = called.json()

        # The bureau reports on site (报到): its co-handler task is signed, in time.
        arrived = await client.post(
            f"{routing}/v1/summons/{whistle['id']}/arrival", headers=_as(BUREAU)
        )
        assert arrived.status_code == 200, arrived.text
        mine = (await client.get(f"{routing}/v1/tasks", headers=_as(BUREAU))).json()
        [joined] = [t for t in mine if t["demand_id"] == demand_id]
        assert (joined["role"], joined["state"]) == ("co_handler", "signed")
        assert joined["citizen"] is None  # the data list: the contact is the lead's only
        co_reply = {
            "result": "resolved",
            "reply_text": "执法队员到场，对噪声行为当场劝阻并告知法律责任",
        }
        answered = await client.post(
            f"{routing}/v1/tasks/{joined['task_id']}/reply", headers=_as(BUREAU), json=co_reply
        )
        assert answered.status_code == 200, answered.text

        # The lead (属地) signs, calls the citizen back, replies citing the law.
        for step in ("sign", "contact"):
            done = await client.post(f"{lead}/{step}", headers=_as(owner))
            assert done.status_code == 200, done.text
        reply = {
            "result": "resolved",
            "reply_text": f"{LAW}，会同区综合行政执法局上门调解，邻居承诺22点后不再聚会唱歌。",
        }
        replied = await client.post(f"{lead}/reply", headers=_as(owner), json=reply)
        assert replied.status_code == 200, replied.text
        timeline = await client.get(f"{routing}/v1/demands/{demand_id}/timeline", headers=street)
        actions = [(s["department_id"], s["action"]) for s in timeline.json()]
        assert (owner, "summon") in actions
        assert (owner, "arrival") in actions
        assert (BUREAU, "sign") in actions

        # The citizen rates it from the tracking link.
        track = f"{urls['intake']}/v1/demands/{demand_id}?token={token}"
        await _until_status(client, track, "replied")

        async def rated():
            response = await client.post(
                f"{feedback}/v1/demands/{demand_id}/evaluation",
                params={"token": token},
                json={"resolved": True, "satisfaction": "satisfied"},
            )
            return response.status_code == 201

        await eventually(rated, timeout_s=60, interval_s=0.3)

        # The month's league table: the bureau answered the whistle in time, the community's
        # reply satisfied the citizen.
        async def counted():
            after = await _figures(client, feedback, month)
            shown = (
                _grown(after, before, BUREAU, "assigned") >= 1
                and _grown(after, before, BUREAU, "responded_on_time") >= 1
                and _grown(after, before, owner, "satisfied") >= 1
            )
            return after if shown else None

        await eventually(counted, timeout_s=60, interval_s=0.5)
