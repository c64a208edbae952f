"""Who may do what on Kafka: one principal per service, department, coordinator and front end,
and its ACLs. The Strimzi KafkaUsers (`k8s/render.py`) and the SASL test broker
(`tests/kafka_acl`) are both made from `principals`, so what is deployed is what is tested.

Services get exactly the topics `contracts.asyncapi.SENDERS` and `RECEIVERS` give them, the
dead-letter topics of what they consume, and their consumer group `liandong-<service>`. A
department reads its own task topic only (one topic per department: Kafka authorises per
topic); a coordinator the escalation topics of its area; a front end nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contracts import topics
from contracts.asyncapi import RECEIVERS, SENDERS, SERVICES
from contracts.jurisdiction import Level, city_of, level_of
from contracts.lists import Department, Lists, Unit

Operation = Literal["Read", "Write", "Describe"]
ResourceType = Literal["topic", "group"]
PatternType = Literal["literal", "prefix"]
Role = Literal["service", "department", "coordinator", "front end"]

COORDINATOR_LEVELS = (Level.city, Level.district, Level.street)
# `liandong escalator` publishes routing's outbox; `liandong notifications log` reads the
# citizen notifications (the notification gateway's place until a real one exists).
ESCALATOR, NOTIFIER, CONSOLE = "escalator", "notifier", "console"


@dataclass(frozen=True, slots=True)
class Acl:
    """One allow rule: `operations` on the topics or groups `name` matches (equal, or starting
    with it for a prefix)."""

    resource: ResourceType
    name: str
    pattern: PatternType
    operations: tuple[Operation, ...]

    def matches(self, resource: ResourceType, name: str) -> bool:
        if resource != self.resource:
            return False
        return name == self.name if self.pattern == "literal" else name.startswith(self.name)


@dataclass(frozen=True, slots=True)
class KafkaPrincipal:
    """A Kafka user (SCRAM user name or KafkaUser name) and what it may do."""

    name: str
    role: Role
    acls: tuple[Acl, ...]
    unit_code: str | None = None
    department_id: str | None = None
    description: str = ""

    def allows(self, operation: Operation, resource: ResourceType, name: str) -> bool:
        """What the StandardAuthorizer decides for these ACLs (Read and Write imply Describe)."""
        implied: set[str] = {operation}
        if operation == "Describe":
            implied |= {"Read", "Write"}
        return any(
            acl.matches(resource, name) and implied & set(acl.operations) for acl in self.acls
        )


def _read(name: str, pattern: PatternType = "literal") -> Acl:
    # Read implies Describe in Kafka; Describe is listed so a client may fetch metadata even
    # where an authorizer treats them apart.
    return Acl("topic", name, pattern, ("Describe", "Read"))


def _write(name: str, pattern: PatternType = "literal") -> Acl:
    return Acl("topic", name, pattern, ("Describe", "Write"))


def _groups(prefix: str) -> Acl:
    return Acl("group", prefix, "prefix", ("Read",))


def _family_topics(family: str, lists: Lists) -> list[tuple[str, PatternType]]:
    """The topics of a family in ACL form: a pipeline topic by name, a chain family by the
    city's prefix (every district's and department's topic, created or yet to come) and, for
    escalations, the city's own topic `escalations.<city4>`, which that prefix does not cover."""
    if family in topics.PIPELINE_TOPICS:
        return [(family, "literal")]
    city = city_of(lists.city_code)
    own: list[tuple[str, PatternType]] = [(f"{family}.{city}", "literal")]
    return (own if family == "escalations" else []) + [(f"{family}.{city}.", "prefix")]


def service_principal(service: str, lists: Lists) -> KafkaPrincipal:
    """What a service sends and reads (its group `liandong-<service>`), and the dead letters of
    what it reads."""
    acls: list[Acl] = []
    sends = [f for f, parties in SENDERS.items() if service in parties]
    reads = [f for f, parties in RECEIVERS.items() if service in parties]
    for family in sends:
        acls += [_write(name, pattern) for name, pattern in _family_topics(family, lists)]
    for family in reads:
        acls += [_read(name, pattern) for name, pattern in _family_topics(family, lists)]
        dead_letters = topics.dlq(family) if family in topics.PIPELINE_TOPICS else None
        if dead_letters is None:  # the task topics of a city share one dead-letter topic
            dead_letters = f"{family}.{city_of(lists.city_code)}{topics.DLQ_SUFFIX}"
        acls.append(_write(dead_letters))
    if reads:
        acls.append(_groups(f"liandong-{service}"))
    return KafkaPrincipal(service, "service", tuple(acls), description=f"the {service} service")


def escalator_principal(lists: Lists) -> KafkaPrincipal:
    """`liandong escalator` relays routing's outbox: routing's sends, no reads, no group."""
    routing = service_principal("routing", lists)
    sends = tuple(
        acl
        for acl in routing.acls
        if "Write" in acl.operations and not acl.name.endswith(topics.DLQ_SUFFIX)
    )
    return KafkaPrincipal(ESCALATOR, "service", sends, description="routing's deadline sweeper")


def notifier_principal() -> KafkaPrincipal:
    return KafkaPrincipal(
        NOTIFIER,
        "service",
        (_read(topics.CITIZEN_NOTIFICATIONS), _groups(f"liandong-{NOTIFIER}")),
        description="`liandong notifications log`, the citizen notifications' reader",
    )


def console_principal() -> KafkaPrincipal:
    """The console is a front end: it works over the services' HTTP APIs and may read no topic;
    its user exists so that no front end ever connects as a service or anonymously."""
    return KafkaPrincipal(CONSOLE, "front end", (), description="the console (front end)")


def department_user_name(department: Department) -> str:
    """`dept-<unit code>-<type>`: a department id made a valid Kubernetes name."""
    return "dept-" + department.id.replace(".", "-").replace("_", "-").lower()


def coordinator_user_name(unit: Unit) -> str:
    return f"coord-{unit.code}"


def department_principal(department: Department) -> KafkaPrincipal:
    """Reads its own task topic only, with consumer groups `<department id>*`."""
    return KafkaPrincipal(
        department_user_name(department),
        "department",
        (_read(topics.tasks_topic(department.unit_code, department.id)), _groups(department.id)),
        unit_code=department.unit_code,
        department_id=department.id,
        description=department.name,
    )


def coordinator_principal(unit: Unit) -> KafkaPrincipal:
    """Reads the escalation topics of its area with consumer groups `coordinator.<unit>*`.

    A city coordinator reads `escalations.<city4>` and every `escalations.<city4>.*` (what the
    pattern `contracts.topics.escalations_pattern` subscribes to); a district or street
    coordinator reads the topic of its district.
    """
    if level_of(unit.code) is Level.city:
        acls = [
            _read(topics.escalations_topic(unit.code)),
            _read(f"escalations.{city_of(unit.code)}.", "prefix"),
        ]
    else:
        acls = [_read(topics.escalations_topic(unit.code))]
    acls.append(_groups(f"coordinator.{unit.code}"))
    return KafkaPrincipal(
        coordinator_user_name(unit),
        "coordinator",
        tuple(acls),
        unit_code=unit.code,
        description=unit.name,
    )


def principals(lists: Lists) -> list[KafkaPrincipal]:
    """Every Kafka principal of the lists' city, services first."""
    services = [service_principal(s, lists) for s in SERVICES]
    services += [escalator_principal(lists), notifier_principal(), console_principal()]
    departments = [department_principal(d) for d in lists.departments]
    coordinators = [coordinator_principal(u) for u in lists.units if u.level in COORDINATOR_LEVELS]
    return services + departments + coordinators


COMPOSE_USERS = ("intake", "classification", "routing", "feedback", ESCALATOR, NOTIFIER)


def compose_acls(lists: Lists) -> str:
    """deploy/kafka/service-acls.tsv: the ACLs of the principals compose runs (its services),
    one line per resource, `<user> <topic|group> <literal|prefixed> <name> <operations>`, for
    deploy/kafka/access.sh (compose's broker has no Strimzi to create them)."""
    lines = [
        "# Generated from contracts/kafka_access.py (compose_acls); a test fails when it is stale."
    ]
    for principal in principals(lists):
        if principal.name not in COMPOSE_USERS:
            continue
        for acl in principal.acls:
            pattern = "prefixed" if acl.pattern == "prefix" else "literal"
            operations = ",".join(acl.operations)
            lines.append(f"{principal.name}\t{acl.resource}\t{pattern}\t{acl.name}\t{operations}")
    return "\n".join(lines) + "\n"
