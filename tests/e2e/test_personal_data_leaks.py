"""A test citizen's demand through every service, from the hotline to the closed demand; then
every log line of every service and every record of every topic about it is searched for the
citizen's name, phone, ID number and house number, failing where the data list keeps them out
(docs/personal-data.md has the same table in words)."""

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime

import httpx
from aiokafka import ConsumerRecord

from tests.chaos.check import read_topics
from tests.e2e.test_demand_to_closed import CHANNEL, _token, _until_status
from tests.kafka_helpers import eventually, header

NAME = "欧阳明珠"
PHONE = "13987654321"
ID_NUMBER = "330502198807154321"
HOUSE = "918号7幢3单元1402室"
ADDRESS = f"湖州市吴兴区月河街道红旗路{HOUSE}"
VALUES = {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER, "address": HOUSE}
DEMAND = {
    "channel": "hotline",
    "content": f"我叫{NAME}，电话{PHONE}，身份证{ID_NUMBER}，住{ADDRESS}。"
    "楼下烧烤店每晚噪音扰民到凌晨两点，多次反映未解决",
    "location": {"unit_code": "330502001016", "address": ADDRESS},
    "citizen": {"name": NAME, "phone": PHONE},
}

# Which personal values each topic may carry, and why (the consumer that needs them):
TOPIC_MAY_CARRY: list[tuple[str, frozenset[str]]] = [
    # classification locates the address and hands the citizen on to routing, which keeps it
    # for the lead department; the citizen's own words go along as written
    (r"demand\.received", frozenset(VALUES)),
    (r"demand\.classified", frozenset(VALUES)),
    # a department reads its own task topic: the co-handler's view (address)
    (r"tasks\..*", frozenset({"address"})),
    (r"demand\.triage", frozenset({"address"})),  # the triage desk locates the demand
    (r"citizen\.notifications", frozenset({"phone"})),  # the SMS gateway sends the callback
    # the reply reaches the citizen as the clerk wrote it, numbers included (one may be the
    # department's); the citizen's name in it is masked, as Open311 readers get it too
    (r"demand\.status", frozenset({"phone"})),
    # escalations, the citizen-visible status, evaluations, dead letters: nothing personal
    (r".*", frozenset()),
]
NOT_IN_LOGS = VALUES  # logs are read by operators, no role of the data list: nothing


def _may_carry(topic: str) -> frozenset[str]:
    return next(allowed for pattern, allowed in TOPIC_MAY_CARRY if re.fullmatch(pattern, topic))


def _hits(text: str, forbidden: frozenset[str] | dict[str, str]) -> list[str]:
    return [field for field in forbidden if VALUES[field] in text]


def _text(record: ConsumerRecord[bytes, bytes]) -> str:
    """The record's body and header values as one text."""
    return (record.value or b"").decode("utf-8", "replace") + "".join(
        v.decode("utf-8", "replace") for _, v in record.headers
    )


async def _records_naming(bootstrap: str, demand_id: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of every topic (dead-letter topics included) that names the demand: each
    partition read from its start to its end offset (idle polls are no measure with some
    1,600 department topics to assign)."""
    return [r for r in await read_topics(bootstrap, r"(?!__).+") if demand_id in _text(r)]


async def _closed_demand(client: httpx.AsyncClient, urls: dict[str, str], bootstrap: str) -> str:
    """The test citizen's demand from the hotline to closed: assigned, signed, contacted,
    replied (the clerk names the citizen), evaluated."""
    response = await client.post(f"{urls['intake']}/v1/demands", json=DEMAND, headers=CHANNEL)
    assert response.status_code == 201, response.text
    accepted = response.json()
    demand_id: str = accepted["demand_id"]
    token = accepted["tracking_token"]
    track = f"{urls['intake']}/v1/demands/{demand_id}?token={token}"
    await _until_status(client, track, "assigned")
    assigned = [
        r
        for r in await _records_naming(bootstrap, demand_id)
        if header(r, "ce_type") == "cn.liandong.task.assigned.v1"
        and json.loads(r.value or b"{}").get("role") == "lead"
    ]
    lead_task = json.loads(assigned[0].value or b"{}")
    lead = {"Authorization": f"Bearer {_token(header(assigned[0], 'ce_departmentid'))}"}
    task = f"{urls['routing']}/v1/tasks/{lead_task['task_id']}"
    assert (await client.get(task, headers=lead)).json()["citizen"]["name"] == NAME
    for action in ("sign", "contact"):
        assert (await client.post(f"{task}/{action}", headers=lead)).status_code == 200
    reply = {"result": "resolved", "reply_text": f"已联系{NAME}（{PHONE}），烧烤店已整改"}
    assert (await client.post(f"{task}/reply", headers=lead, json=reply)).status_code == 200
    evaluation = f"{urls['feedback']}/v1/demands/{demand_id}/evaluation?token={token}"

    async def evaluate() -> httpx.Response | None:
        answer = await client.post(evaluation, json={"resolved": True, "satisfaction": "satisfied"})
        return answer if answer.status_code == 201 else None

    await eventually(evaluate, timeout_s=30)
    await _until_status(client, track, "closed")
    return demand_id


async def test_no_personal_value_reaches_a_log_or_topic_the_data_list_keeps_it_from(
    services, infra
):
    async with httpx.AsyncClient(timeout=10) as client:
        demand_id = await _closed_demand(client, services.urls, infra.kafka_bootstrap_servers)
    await asyncio.sleep(1)  # the relays' last records and the processes' last log lines

    records = [
        (r.topic, _text(r)) for r in await _records_naming(infra.kafka_bootstrap_servers, demand_id)
    ]
    topics = {topic for topic, _ in records}
    # The scan saw the whole way: received, classified, task, status, evaluation, callback.
    assert {"demand.received", "demand.classified", "demand.status", "demand.evaluated"} <= topics
    assert "citizen.notifications" in topics
    assert any(t.startswith("tasks.") for t in topics)
    leaks = [
        f"{topic}: {field}"
        for topic, text in records
        for field in _hits(text, frozenset(VALUES) - _may_carry(topic))
    ]
    assert leaks == []
    # Where the topic may carry them, they are really there: the scan would see a leak.
    received = next(text for topic, text in records if topic == "demand.received")
    assert _hits(received, frozenset(VALUES)) == list(frozenset(VALUES))

    logged = [
        f"{path.name}:{number}: {field}"
        for path in sorted(services.log_dir.glob("*.log"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for field in _hits(line, NOT_IN_LOGS)
    ]
    assert len(list(services.log_dir.glob("*.log"))) >= 5
    assert logged == []


def test_the_scan_finds_each_value_it_looks_for():
    text = f"x{NAME}y{PHONE}z{ID_NUMBER}w{ADDRESS}{uuid.uuid4()}{datetime.now(UTC)}"
    assert sorted(_hits(text, frozenset(VALUES))) == sorted(VALUES)
    assert _may_carry("tasks.3305.330502.330502000000.urban_management") == {"address"}
    assert _may_carry("escalations.3305") == frozenset()
