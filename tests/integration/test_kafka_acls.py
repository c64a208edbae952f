"""Kafka's own authorisation, enforced: a broker with SASL/SCRAM-SHA-512 and the StandardAuthorizer
holds the ACLs of every principal `contracts.kafka_access.principals` gives (the same function the
Strimzi KafkaUsers are rendered from), and real aiokafka clients, each logged in as one
principal, try what KAFKA_MATRIX below says. The Kafka column of the authorisation story, beside
tests/e2e/test_authorisation_matrix.py's HTTP one.

A read is allowed when the principal's consumer, in its own group, gets the record the super user
put on the topic; denied when the broker answers TopicAuthorizationFailed or
GroupAuthorizationFailed. A write is allowed when the idempotent producer (the services' own
settings) gets its record acknowledged; denied on TopicAuthorizationFailed, or
ClusterAuthorizationFailed when the principal may write no topic at all (its producer cannot even
get a producer id). Every cell is also asked of the principal's ACLs as rendered
(`KafkaPrincipal.allows`), so the broker and the rendered KafkaUsers cannot disagree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from pydantic import SecretStr

from contracts import topics
from contracts.kafka_access import KafkaPrincipal, principals
from contracts.lists import load_lists
from services.runtime.kafka_clients import KafkaClientSettings, client_options, create_topics
from services.runtime.secure_kafka import ADMIN, SecureKafka

pytestmark = pytest.mark.real_kafka

LISTS = load_lists()
DISTRICT, SIBLING, CITY = "330502", "330503", "3305"
DEPT = "330502000000.urban_management"  # 吴兴区综合行政执法局
NEIGHBOUR = "330502000000.public_security"  # same district, same unit
COMMITTEE = "330502001005.community_committee"  # a community beneath the same district
CITY_DEPT = "330500000000.education"  # 湖州市教育局

# who (Kafka user) -> the group its consumers use
WHO = {
    "dept": ("dept-330502000000-urban-management", DEPT),
    "committee": ("dept-330502001005-community-committee", COMMITTEE),
    "coord-district": ("coord-330502000000", "coordinator.330502000000"),
    "coord-street": ("coord-330502001000", "coordinator.330502001000"),
    "coord-city": ("coord-330500000000", "coordinator.330500000000"),
    "console": ("console", "console"),
    **{s: (s, f"liandong-{s}") for s in ("intake", "classification", "routing", "feedback")},
    "escalator": ("escalator", "liandong-escalator"),
    "notifier": ("notifier", "liandong-notifier"),
}


def _tasks(department_id: str) -> str:
    return topics.tasks_topic(LISTS.departments_by_id[department_id].unit_code, department_id)


OWN, NEXT, COMM, CITYT = _tasks(DEPT), _tasks(NEIGHBOUR), _tasks(COMMITTEE), _tasks(CITY_DEPT)
ESC_D, ESC_S, ESC_C = (
    f"escalations.{CITY}.{DISTRICT}",
    f"escalations.{CITY}.{SIBLING}",
    "escalations.3305",
)
TASK_DLQ = topics.dlq(OWN)

# (who, action, topic, expected); a read uses the group of WHO unless a fifth item names one
KAFKA_MATRIX: list[tuple[str, ...]] = [
    # a department reads its own tasks and nothing else, and writes nothing
    ("dept", "read", OWN, "allowed"),
    ("dept", "read", NEXT, "denied"),  # its neighbour in the same unit
    ("dept", "read", COMM, "denied"),  # a community committee of its district
    ("dept", "read", CITYT, "denied"),
    ("dept", "read", ESC_D, "denied"),
    ("dept", "read", topics.DEMAND_RECEIVED, "denied"),
    ("dept", "read", OWN, "denied", "liandong-feedback"),  # not in another's group
    ("dept", "write", OWN, "denied"),
    ("committee", "read", COMM, "allowed"),
    ("committee", "read", OWN, "denied"),
    # a coordinator reads the escalations of its area only
    ("coord-district", "read", ESC_D, "allowed"),
    ("coord-district", "read", ESC_S, "denied"),
    ("coord-district", "read", ESC_C, "denied"),
    ("coord-district", "read", OWN, "denied"),
    ("coord-street", "read", ESC_D, "allowed"),  # its district's topic, filtered by header
    ("coord-street", "read", ESC_S, "denied"),
    ("coord-city", "read", ESC_C, "allowed"),
    ("coord-city", "read", ESC_S, "allowed"),
    ("coord-city", "read", OWN, "denied"),
    ("coord-city", "write", ESC_C, "denied"),
    # a front end reads and writes nothing
    ("console", "read", topics.DEMAND_RECEIVED, "denied"),
    ("console", "read", topics.DEMAND_STATUS, "denied"),
    ("console", "read", OWN, "denied"),
    ("console", "read", ESC_C, "denied"),
    ("console", "write", topics.DEMAND_RECEIVED, "denied"),
    # each service: its topics, its group, the dead letters of what it reads; nothing else
    ("intake", "write", topics.DEMAND_RECEIVED, "allowed"),
    ("intake", "read", topics.DEMAND_STATUS, "allowed"),
    ("intake", "write", topics.dlq(topics.DEMAND_STATUS), "allowed"),
    ("intake", "read", topics.DEMAND_RECEIVED, "denied"),
    ("intake", "write", topics.DEMAND_CLASSIFIED, "denied"),
    ("intake", "read", OWN, "denied"),
    ("classification", "read", topics.DEMAND_RECEIVED, "allowed"),
    ("classification", "write", topics.DEMAND_CLASSIFIED, "allowed"),
    ("classification", "write", topics.DEMAND_TRIAGE, "allowed"),
    ("classification", "write", topics.DEMAND_STATUS, "allowed"),
    ("classification", "read", topics.DEMAND_CLASSIFIED, "denied"),
    # praise recorded at the triage desk is passed on to the department on its task topic
    ("classification", "write", OWN, "allowed"),
    ("classification", "read", OWN, "denied"),
    ("routing", "read", topics.DEMAND_CLASSIFIED, "allowed"),
    ("routing", "read", topics.DEMAND_EVALUATED, "allowed"),
    ("routing", "write", OWN, "allowed"),
    ("routing", "write", CITYT, "allowed"),
    ("routing", "write", ESC_C, "allowed"),
    ("routing", "write", ESC_D, "allowed"),
    ("routing", "write", topics.DEMAND_STATUS, "allowed"),
    ("routing", "read", OWN, "denied"),
    ("routing", "read", ESC_D, "denied"),
    ("routing", "write", topics.DEMAND_RECEIVED, "denied"),
    ("routing", "read", topics.DEMAND_CLASSIFIED, "denied", "liandong-feedback"),
    ("feedback", "read", OWN, "allowed"),
    ("feedback", "read", CITYT, "allowed"),
    ("feedback", "read", topics.DEMAND_CLASSIFIED, "allowed"),
    ("feedback", "read", topics.DEMAND_STATUS, "allowed"),
    ("feedback", "write", TASK_DLQ, "allowed"),
    ("feedback", "write", topics.DEMAND_EVALUATED, "allowed"),
    ("feedback", "write", topics.CITIZEN_NOTIFICATIONS, "allowed"),
    ("feedback", "write", OWN, "denied"),
    ("feedback", "read", ESC_D, "denied"),
    ("feedback", "read", topics.DEMAND_RECEIVED, "denied"),
    ("escalator", "write", ESC_D, "allowed"),
    ("escalator", "write", OWN, "allowed"),
    ("escalator", "read", topics.DEMAND_CLASSIFIED, "denied"),
    ("notifier", "read", topics.CITIZEN_NOTIFICATIONS, "allowed"),
    ("notifier", "read", topics.DEMAND_STATUS, "denied"),
]


@dataclass(frozen=True)
class Cell:
    who: str
    action: str
    topic: str
    expected: str
    group: str

    @classmethod
    def of(cls, row: tuple[str, ...]) -> Cell:
        who, action, topic, expected, *group = row
        return cls(who, action, topic, expected, group[0] if group else WHO[who][1])

    def __str__(self) -> str:
        return f"{self.who} {self.action} {self.topic} (group {self.group})"


CELLS = [Cell.of(row) for row in KAFKA_MATRIX]
PRINCIPALS = {p.name: p for p in principals(LISTS)}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    """Every principal's ACLs; SCRAM users for those the cells log in as (a user's password
    hash takes the Admin client a moment, the ACLs none: all 1,579 users are created in
    tests/cluster/test_sasl_pipeline.py, in make test-kafka-cluster)."""
    users = {user for user, _ in WHO.values()}
    kafka = SecureKafka(tmp_path_factory.mktemp("sasl-kafka"), PRINCIPALS.values(), users=users)
    kafka.start()
    try:
        wanted = sorted({cell.topic for cell in CELLS})
        asyncio.run(_prepare(kafka, wanted))
        yield kafka
    finally:
        kafka.stop()


async def _prepare(kafka: SecureKafka, names: list[str]) -> None:
    """The topics, each with one record a reader may find, put there by the super user."""
    admin = kafka.client(ADMIN)
    await create_topics(kafka.bootstrap_servers, names, partitions=1, security=admin)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, acks="all", **client_options(admin)
    )
    await producer.start()
    try:
        for name in names:
            await producer.send_and_wait(name, b"{}", key=b"acl-test")
    finally:
        await producer.stop()


async def _read(kafka: SecureKafka, security: KafkaClientSettings, cell: Cell) -> str:
    consumer = AIOKafkaConsumer(
        cell.topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=cell.group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **client_options(security),
    )
    try:
        await consumer.start()
        record = await asyncio.wait_for(consumer.getone(), timeout=60)
        return "allowed" if record.topic == cell.topic else f"read {record.topic}?"
    except (TopicAuthorizationFailedError, GroupAuthorizationFailedError):
        return "denied"
    finally:
        await consumer.stop()


async def _write(kafka: SecureKafka, security: KafkaClientSettings, cell: Cell) -> str:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        **client_options(security),
    )
    try:
        await producer.start()
        await asyncio.wait_for(producer.send_and_wait(cell.topic, b"{}", key=b"k"), timeout=60)
        return "allowed"
    except (TopicAuthorizationFailedError, ClusterAuthorizationFailedError):
        return "denied"
    finally:
        await producer.stop()


async def _try(kafka: SecureKafka, cell: Cell, slots: asyncio.Semaphore) -> str:
    security = kafka.client(WHO[cell.who][0])
    async with slots:
        if cell.action == "read":
            return await _read(kafka, security, cell)
        return await _write(kafka, security, cell)


def test_the_matrix_names_real_principals_and_departments():
    for user, _ in WHO.values():
        assert user in PRINCIPALS, user
    for department in (DEPT, NEIGHBOUR, COMMITTEE, CITY_DEPT):
        assert department in LISTS.departments_by_id, department


def test_the_rendered_acls_say_what_the_matrix_says():
    wrong = []
    for cell in CELLS:
        principal: KafkaPrincipal = PRINCIPALS[WHO[cell.who][0]]
        if cell.action == "read":
            allowed = principal.allows("Read", "topic", cell.topic)
        else:
            allowed = principal.allows("Write", "topic", cell.topic)
        if cell.action == "read":
            allowed = allowed and principal.allows("Read", "group", cell.group)
        if ("allowed" if allowed else "denied") != cell.expected:
            wrong.append(str(cell))
    assert wrong == []


async def test_the_broker_enforces_every_cell_of_the_matrix(broker):
    slots = asyncio.Semaphore(8)  # a few clients at a time: the machine is small
    answers = await asyncio.gather(*(_try(broker, cell, slots) for cell in CELLS))
    wrong = [
        f"{cell}: expected {cell.expected}, got {answer}"
        for cell, answer in zip(CELLS, answers, strict=True)
        if answer != cell.expected
    ]
    assert wrong == []


async def test_no_client_gets_in_without_a_user_or_with_a_wrong_password(broker):
    anonymous = AIOKafkaConsumer(
        topics.DEMAND_RECEIVED,
        bootstrap_servers=broker.bootstrap_servers,
        request_timeout_ms=5000,
        connections_max_idle_ms=5000,
    )
    with pytest.raises(KafkaConnectionError):  # the SASL listener answers no plain client
        await asyncio.wait_for(anonymous.start(), timeout=30)
    await anonymous.stop()
    wrong = broker.client("intake").model_copy(
        update={"kafka_sasl_password": SecretStr("not-the-password")}
    )
    impostor = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, **client_options(wrong))
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(impostor.start(), timeout=30)
    await impostor.stop()
