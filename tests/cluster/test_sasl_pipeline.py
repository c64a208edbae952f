"""The pipeline on a SASL/SCRAM broker with the StandardAuthorizer: every principal of the city as
a user with its rendered ACLs (all 1,579: `SecureKafka` without `users`), intake,
classification, routing and feedback each logged in as its own user, a demand filed over HTTP,
and the lead and co-handling departments reading their tasks, each on its own topic, with their
own users. `make test-kafka-cluster` (it takes minutes: each user's salted password costs the
Admin client 4,096 rounds of PBKDF2); the matrix of tests/integration/test_kafka_acls.py, in
`make test`, checks each permission cell by cell.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import TopicAuthorizationFailedError

from contracts import topics
from contracts.events import TaskAssigned
from contracts.kafka_access import principals
from contracts.lists import load_lists
from services.runtime.auth import Role, issue_token
from services.runtime.embedded import free_port
from services.runtime.kafka_clients import (
    client_options,
    create_topics,
    wait_for_group_coordinator,
)
from services.runtime.launcher import ServiceProcesses, async_url
from services.runtime.migrations import SERVICES, upgrade_all
from services.runtime.secure_kafka import ADMIN, SecureKafka
from tests.conftest import AUTH_SECRET, Infra, _create_database
from tests.kafka_helpers import eventually, header

pytestmark = [pytest.mark.kafka_cluster, pytest.mark.slow]

LISTS = load_lists()
LEAD = "330502000000.urban_management"  # power:ENV-NOISE-LIFE@district
CO_HANDLER = "330502000000.public_security"
DEMAND = {
    "channel": "hotline",
    "content": "月河社区楼下烧烤店每晚噪音扰民到凌晨两点，多次反映未解决",
    "location": {"unit_code": "330502001016"},
    "citizen": {"name": "张三", "phone": "13812345678"},
}
CHANNEL = {
    "Authorization": "Bearer "
    + issue_token(AUTH_SECRET, sub="channel:hotline", role=Role.channel, now=datetime.now(UTC))
}


@dataclass(frozen=True)
class SecurePipeline:
    kafka: SecureKafka
    intake_url: str


@pytest.fixture(scope="module")
def secure_pipeline(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecurePipeline]:
    if infra.broker == "tansu":
        pytest.skip("needs Apache Kafka; this run's broker is tansu")
    kafka = SecureKafka(tmp_path_factory.mktemp("sasl-pipeline"), principals(LISTS))
    kafka.start(timeout_s=600)
    processes = None
    try:
        database_url = asyncio.run(_create_database(infra.database_url))
        upgrade_all(async_url(database_url))
        asyncio.run(
            create_topics(
                kafka.bootstrap_servers,
                topics.all_topics(LISTS),
                partitions=3,
                security=kafka.client(ADMIN),
            )
        )
        asyncio.run(
            wait_for_group_coordinator(kafka.bootstrap_servers, security=kafka.client(ADMIN))
        )
        env = {
            **infra.env(),
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "LIANDONG_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "LIANDONG_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "LIANDONG_ROUTING_DUPLICATE_WINDOW_HOURS": "0",
        }
        log_dir = tmp_path_factory.mktemp("sasl-logs")
        processes = ServiceProcesses(env, log_dir=log_dir)
        for name in SERVICES:
            processes.start(
                name,
                port=free_port(),
                extra_env={
                    "LIANDONG_KAFKA_SASL_USERNAME": name,
                    "LIANDONG_KAFKA_SASL_PASSWORD": kafka.passwords[name],
                },
            )
        try:
            processes.wait_ready(timeout_s=180)
        except TimeoutError:  # say why: the services' own last words
            for log in sorted(log_dir.glob("*.log")):
                tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
                print(f"--- {log.name}", *tail, sep="\n")
            raise
        yield SecurePipeline(kafka, processes.running["intake"].url)
    finally:
        if processes is not None:
            processes.stop()
        kafka.stop()


def _user(department_id: str) -> str:
    return next(p.name for p in principals(LISTS) if p.department_id == department_id)


async def _assigned(kafka: SecureKafka, department_id: str, demand_id: str) -> str | None:
    """The role of the task.assigned of the demand on the department's own topic, read with
    the department's own user and group; None while there is none."""
    topic = topics.tasks_topic(LISTS.departments_by_id[department_id].unit_code, department_id)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        **client_options(kafka.client(_user(department_id))),
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=2000)
        for record in (r for records in batches.values() for r in records):
            if header(record, "ce_demandid") == demand_id and (
                header(record, "ce_type") == TaskAssigned.TYPE
            ):
                return f"{record.topic} {header(record, 'ce_departmentid')}"
        return None
    finally:
        await consumer.stop()


async def _first_record(consumer: AIOKafkaConsumer) -> object:
    await consumer.start()  # a consumer without a group is refused here, asking for metadata
    return await asyncio.wait_for(consumer.getone(), timeout=60)


async def test_a_demand_reaches_each_department_on_its_own_topic_over_sasl(secure_pipeline):
    kafka = secure_pipeline.kafka
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{secure_pipeline.intake_url}/v1/demands", json=DEMAND, headers=CHANNEL
        )
        assert response.status_code == 201, response.text
        accepted = response.json()
        track = (
            f"{secure_pipeline.intake_url}/v1/demands/{accepted['demand_id']}"
            f"?token={accepted['tracking_token']}"
        )

        async def assigned():  # intake learnt it from demand.status, read as its own user
            view = (await client.get(track)).json()
            return view if view.get("status") == "assigned" else None

        await eventually(assigned, timeout_s=120, interval_s=1)
    demand_id = accepted["demand_id"]
    for department in (LEAD, CO_HANDLER):

        async def on_its_topic(department: str = department) -> str | None:
            return await _assigned(kafka, department, demand_id)

        found = await eventually(on_its_topic, timeout_s=60, interval_s=1)
        assert found == f"{topics.tasks_topic('330502000000', department)} {department}"
    # and the co-handler's user still cannot read the lead's topic
    consumer = AIOKafkaConsumer(
        topics.tasks_topic("330502000000", LEAD),
        bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        **client_options(kafka.client(_user(CO_HANDLER))),
    )
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await _first_record(consumer)
    finally:
        await consumer.stop()
