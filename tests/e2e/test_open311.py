"""Open311 GeoReport v2 and API keys against every service as its own process: a request
posted in JSON and in XML becomes a demand, is tracked with its handling department and reply
deadline, and reads `closed` once the department replied and the citizen evaluated."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import httpx
import pytest

from services.runtime.api_keys import add_key
from services.runtime.auth import Role, issue_token, tracking_token
from services.runtime.migrations import SERVICES
from tests.conftest import AUTH_SECRET
from tests.kafka_helpers import eventually

NOISE_DEPT = "330502000000.urban_management"
NOISE_DEPT_NAME = "吴兴区综合行政执法局"
FORM = {
    "service_code": "ENV-NOISE-LIFE",
    "address_id": "330502001016",
    "description": "月河社区楼下烧烤店每晚噪音扰民到凌晨两点，多次反映未解决",
    "first_name": "三",
    "last_name": "张",
    "phone": "13812345678",
    "email": "zhangsan@example.cn",
    "device_id": "device-0001",
}


@pytest.fixture
def open311_system(services):
    return services.urls, services.keys_file, services.app_key, services.log_dir


def _department(department_id):
    token = issue_token(
        AUTH_SECRET,
        sub=f"clerk@{department_id}",
        role=Role.department,
        department_id=department_id,
        now=datetime.now(UTC),
    )
    return {"Authorization": f"Bearer {token}"}


def _xml_request(response):
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    [request] = root.findall("request")
    return request


async def test_a_request_posted_through_open311_is_tracked_until_closed(open311_system):
    urls, _keys_file, app_key, log_dir = open311_system
    base = f"{urls['intake']}/open311/v2"
    async with httpx.AsyncClient(timeout=10) as client:
        # JSON, the key as the spec's api_key form field
        posted = await client.post(f"{base}/requests.json", data=FORM | {"api_key": app_key})
        assert posted.status_code == 201, posted.text
        [created] = posted.json()
        assert created["service_notice"]
        assert created["account_id"] is None
        json_id = created["service_request_id"]

        # XML, the key in the X-API-Key header; a description with no catalogue keyword, so
        # only the chosen service_code names the matter (without it: triage, never assigned)
        posted_xml = await client.post(
            f"{base}/requests.xml",
            data=FORM | {"description": "晚上十一点以后楼上还在装修敲墙，吵得孩子睡不着"},
            headers={"X-API-Key": app_key},
        )
        assert posted_xml.status_code == 201, posted_xml.text
        assert posted_xml.headers["content-type"].startswith("text/xml")
        xml_id = _xml_request(posted_xml).findtext("service_request_id")
        assert xml_id
        assert xml_id != json_id

        async def assigned(request_id, fmt="json"):
            response = await client.get(
                f"{base}/requests/{request_id}.{fmt}", params={"api_key": app_key}
            )
            assert response.status_code == 200, response.text
            if fmt == "xml":
                request = _xml_request(response)
                ready = request.findtext("expected_datetime")
                return request if ready else None
            [request] = response.json()
            return request if request["expected_datetime"] else None

        request = await eventually(lambda: assigned(json_id), timeout_s=30)
        assert request["agency_responsible"] == NOISE_DEPT_NAME
        assert request["status"] == "open"
        assert request["status_notes"].startswith("已派单")
        assert request["service_code"] == "ENV-NOISE-LIFE"
        assert request["service_name"]
        assert request["address_id"] == "330502001016"
        assert request["expected_datetime"] > request["requested_datetime"]
        for personal in ("张三", "13812345678", "zhangsan@example.cn"):
            assert personal not in str(request)

        in_xml = await eventually(lambda: assigned(xml_id, "xml"), timeout_s=30)
        assert in_xml.findtext("agency_responsible") == NOISE_DEPT_NAME
        assert in_xml.findtext("status") == "open"

        # The department handles the JSON request's task; the citizen evaluates.
        lead = _department(NOISE_DEPT)

        async def lead_task():
            tasks = (await client.get(f"{urls['routing']}/v1/tasks", headers=lead)).json()
            return next((t for t in tasks if t["demand_id"] == json_id), None)

        task = await eventually(lead_task)
        routing = f"{urls['routing']}/v1/tasks/{task['task_id']}"
        detail = (await client.get(routing, headers=lead)).json()
        assert detail["citizen"] == {"name": "张三", "phone": "13812345678"}  # the lead only
        assert (await client.post(f"{routing}/sign", headers=lead)).status_code == 200
        assert (await client.post(f"{routing}/contact", headers=lead)).status_code == 200
        reply = "已责令烧烤店22点后停止营业并安装隔音设施。"
        replied = await client.post(
            f"{routing}/reply", headers=lead, json={"result": "resolved", "reply_text": reply}
        )
        assert replied.status_code == 200, replied.text

        evaluation = (
            f"{urls['feedback']}/v1/demands/{json_id}/evaluation"
            f"?token={tracking_token(AUTH_SECRET, json_id)}"
        )

        async def evaluate():
            response = await client.post(
                evaluation, json={"resolved": True, "satisfaction": "satisfied"}
            )
            return response.status_code == 201

        await eventually(evaluate, timeout_s=30)

        async def closed():
            response = await client.get(
                f"{base}/requests.xml",
                params={"api_key": app_key, "status": "closed", "service_code": "ENV-NOISE-LIFE"},
            )
            ids = [r.findtext("service_request_id") for r in ET.fromstring(response.content)]
            return json_id in ids

        await eventually(closed, timeout_s=30)
        [final] = (
            await client.get(f"{base}/requests/{json_id}.json", params={"api_key": app_key})
        ).json()
        assert final["status"] == "closed"
        assert final["agency_responsible"] == NOISE_DEPT_NAME
        assert final["expected_datetime"] == request["expected_datetime"]

        both = await client.get(
            f"{base}/requests.json",
            params={"api_key": app_key, "service_request_id": f"{json_id},{xml_id}"},
        )
        assert {r["service_request_id"] for r in both.json()} == {json_id, xml_id}
        still_open = await client.get(
            f"{base}/requests.json", params={"api_key": app_key, "status": "open"}
        )
        ids = [r["service_request_id"] for r in still_open.json()]
        assert xml_id in ids
        assert json_id not in ids

    for name in SERVICES:
        log = (log_dir / f"{name}.log").read_text(encoding="utf-8")
        assert app_key not in log, f"{name} logged an API key"
        assert "13812345678" not in log, f"{name} logged a phone number"


async def test_open311_services_and_errors(open311_system):
    urls, keys_file, app_key, _ = open311_system
    base = f"{urls['intake']}/open311/v2"
    async with httpx.AsyncClient(timeout=10) as client:
        services = (await client.get(f"{base}/services.json")).json()
        assert "ENV-NOISE-LIFE" in [s["service_code"] for s in services]
        xml = ET.fromstring((await client.get(f"{base}/services.xml")).content)
        assert xml.tag == "services"
        assert xml[0].tag == "service"
        definition = await client.get(f"{base}/services/ENV-NOISE-LIFE.xml")
        assert ET.fromstring(definition.content).findtext("service_code") == "ENV-NOISE-LIFE"

        async def error(response, code, text):
            assert response.status_code == code, response.text
            [body] = response.json()
            assert body["code"] == code
            assert text in body["description"]

        keyed = {"api_key": app_key}
        await error(await client.get(f"{base}/services/NOPE.json"), 404, "NOPE")
        await error(await client.get(f"{base}/services.html"), 404, "format")
        no_code = FORM | keyed
        no_code.pop("service_code")
        await error(await client.post(f"{base}/requests.json", data=no_code), 400, "service_code")
        no_place = FORM | keyed
        no_place.pop("address_id")
        await error(await client.post(f"{base}/requests.json", data=no_place), 400, "location")
        await error(
            await client.post(
                f"{base}/requests.json", data=FORM | keyed | {"service_code": "NOPE"}
            ),
            404,
            "service_code NOPE",
        )
        await error(
            await client.post(f"{base}/requests.json", data=FORM | {"description": "短"} | keyed),
            400,
            "description",
        )
        await error(await client.post(f"{base}/requests.json", data=FORM), 403, "api_key")
        await error(
            await client.get(
                f"{base}/requests/6f1c0c36-3f0e-4d57-9a55-111111111111.json", params=keyed
            ),
            404,
            "not found",
        )
        await error(
            await client.get(f"{base}/requests.json", params=keyed | {"start_date": "yesterday"}),
            400,
            "start_date",
        )
        wrong_key = await client.post(
            f"{base}/requests.xml", data=FORM | {"api_key": "ld_not-a-key"}
        )
        assert wrong_key.status_code == 403
        root = ET.fromstring(wrong_key.content)
        assert root.tag == "errors"
        assert root.findtext("error/code") == "403"

        # Reading is public (the spec): another front end, and a client with no key at all,
        # read the request; a key added while running works without a restart.
        mine = await client.post(f"{base}/requests.json", data=FORM | keyed)
        [created] = mine.json()
        other_key, _ = add_key(keys_file, sub="app-other", role=Role.channel)
        theirs = await client.get(
            f"{base}/requests/{created['service_request_id']}.json",
            params={"api_key": other_key},
        )
        assert theirs.status_code == 200, theirs.text
        public = await client.get(f"{base}/requests/{created['service_request_id']}.json")
        assert public.json() == theirs.json()
        posted = await client.post(f"{base}/requests.json", data=FORM | {"api_key": other_key})
        assert posted.status_code == 201, posted.text
        # A key that is given must be valid, even where none is needed.
        await error(
            await client.get(f"{base}/requests.json", params={"api_key": "ld_x"}), 403, "api_key"
        )


async def test_v1_demands_accept_an_api_key(open311_system):
    urls, _, app_key, _ = open311_system
    demand = {
        "channel": "app",
        "content": "小区门口垃圾桶满了好几天没人清运",
        "location": {"address": "吴兴区朝阳街道车站社区3幢"},
    }
    async with httpx.AsyncClient(timeout=10) as client:
        accepted = await client.post(
            f"{urls['intake']}/v1/demands", json=demand, headers={"X-API-Key": app_key}
        )
        assert accepted.status_code == 201, accepted.text
        body = accepted.json()

        async def assigned():
            view = (await client.get(f"{urls['intake']}{body['tracking_url']}")).json()
            return view if view["status"] == "assigned" else None

        view = await eventually(assigned, timeout_s=30)
        assert view["department_name"] == "朝阳街道办事处"
        unknown = await client.post(
            f"{urls['intake']}/v1/demands", json=demand, headers={"X-API-Key": "ld_nope"}
        )
        assert unknown.status_code == 401
        assert unknown.json()["detail"] == "unknown API key"
        # Any credential reads the lists, an API key too.
        matters = await client.get(f"{urls['intake']}/v1/matters", headers={"X-API-Key": app_key})
        assert matters.status_code == 200
