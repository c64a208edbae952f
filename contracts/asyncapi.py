"""The AsyncAPI 3.0 document of every topic (`contracts/asyncapi.yaml`), generated and checked.

Every topic of the lists' city is a channel: the pipeline topics, their dead-letter topics and the
chain topics derived from the jurisdiction registry. Channels carry Kafka bindings (partitions,
replicas, retention) from `topic_plans`, the same plan the Strimzi `KafkaTopic`s are generated
from (`k8s/render.py`), so the document and the cluster cannot disagree. Messages point at the
committed JSON Schemas in `contracts/schemas/`; headers are the CloudEvents binary-mode headers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import yaml

from contracts import topics
from contracts.envelope import TRACEPARENT_HEADER
from contracts.events import EVENT_MODELS, Event
from contracts.jurisdiction import Level, level_of
from contracts.lists import Lists

ASYNCAPI_PATH = Path(__file__).parent / "asyncapi.yaml"
KAFKA_BINDING = "0.5.0"
DAY_MS = 24 * 60 * 60 * 1000

# Sizing of the production cluster (docs/operations.md): consumers of one group scale up to the
# partition count, so pipeline topics get room for a dozen replicas of a service; a chain topic
# is read by one group per department or coordinator, each reading the whole topic.
PIPELINE_PARTITIONS = 12
DEAD_LETTER_PARTITIONS = 3
CHAIN_PARTITIONS = 6
REPLICAS = 3
MIN_IN_SYNC_REPLICAS = 2
PIPELINE_RETENTION_MS = 7 * DAY_MS
# Department systems and coordinators may be offline for a holiday; operators read dead letters.
CHAIN_RETENTION_MS = 30 * DAY_MS
DEAD_LETTER_RETENTION_MS = 30 * DAY_MS


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """One topic as deployed: name, family, size and retention, and the unit it serves."""

    name: str
    family: str  # pipeline, dead-letter, tasks, escalations
    partitions: int
    replicas: int
    retention_ms: int
    unit_code: str | None = None

    @property
    def config(self) -> dict[str, int | str]:
        """Kafka topic configuration (the same keys in the binding and the KafkaTopic)."""
        return {
            "cleanup.policy": "delete",
            "retention.ms": self.retention_ms,
            "min.insync.replicas": MIN_IN_SYNC_REPLICAS,
        }


def topic_plans(lists: Lists) -> list[TopicPlan]:
    """Every topic of the lists' city, in `contracts.topics.all_topics` order."""
    unit_codes = [unit.code for unit in lists.units]
    served = {
        topic_of(code): code
        for code in unit_codes
        if level_of(code) in (Level.city, Level.district)
        for topic_of in (topics.tasks_topic, topics.escalations_topic)
    }
    plans: list[TopicPlan] = []
    for name in topics.all_topics(unit_codes):
        if name in topics.PIPELINE_TOPICS:
            plan = TopicPlan(name, "pipeline", PIPELINE_PARTITIONS, REPLICAS, PIPELINE_RETENTION_MS)
        elif name.endswith(topics.DLQ_SUFFIX):
            plan = TopicPlan(
                name, "dead-letter", DEAD_LETTER_PARTITIONS, REPLICAS, DEAD_LETTER_RETENTION_MS
            )
        else:  # tasks.<city4>[.<district6>] or escalations.<city4>[.<district6>]
            family = name.split(".", 1)[0]
            plan = TopicPlan(
                name, family, CHAIN_PARTITIONS, REPLICAS, CHAIN_RETENTION_MS, served[name]
            )
        plans.append(plan)
    return plans


# Who sends to and who reads each topic family (the services read as group liandong-<service>).
_SENDERS: dict[str, list[str]] = {
    topics.DEMAND_RECEIVED: ["intake"],  # the demand, then the citizen's withdrawal or addition
    topics.DEMAND_CLASSIFIED: ["classification"],
    topics.DEMAND_TRIAGE: ["classification"],
    topics.DEMAND_STATUS: ["classification", "routing"],
    topics.DEMAND_EVALUATED: ["feedback"],
    topics.CITIZEN_NOTIFICATIONS: ["feedback"],
    "tasks": ["routing", "classification"],  # classification: praise passed on at the desk
    "escalations": ["routing"],  # disputes and the deadline sweeper (routing, `liandong escalator`)
}
_RECEIVERS: dict[str, list[str]] = {
    topics.DEMAND_RECEIVED: ["classification"],
    topics.DEMAND_CLASSIFIED: ["routing", "feedback"],
    topics.DEMAND_TRIAGE: ["triage desk"],
    topics.DEMAND_STATUS: ["intake", "feedback"],
    topics.DEMAND_EVALUATED: ["routing"],
    topics.CITIZEN_NOTIFICATIONS: ["notification gateway"],
    "tasks": ["department systems", "feedback"],  # feedback: the facts of the three rates
    "escalations": ["coordinators", "liandong watch escalations"],
}
_SERVICES = {"intake", "classification", "routing", "feedback"}

_HEADER_DESCRIPTIONS = {
    "ce_specversion": "CloudEvents spec version, always 1.0",
    "ce_id": "event id, unique; consumers de-duplicate on it",
    "ce_type": "CloudEvents type: names the event and its schema version",
    "ce_source": "the service that produced the event",
    "ce_time": "RFC 3339 time of the event",
    "ce_subject": "the entity the event is about: demand/<id>, task/<id>, dispute/<id>",
    "ce_demandid": "correlation id: the demand id",
    "content-type": "application/json",
}


def _sample(model: type[Event], city_code: str) -> Event:
    """An unvalidated instance with every unit code at the city and a distinct id per UUID field,
    enough to ask the event itself for its topic and its key."""
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name.endswith("unit_code"):
            values[name] = city_code
        elif field.annotation is UUID:
            values[name] = uuid5(NAMESPACE_URL, f"{model.TYPE}#{name}")
    return model.model_construct(**values)


def _message_family(model: type[Event], city_code: str) -> str:
    """The family of the topic an event goes to, from the event's own `topic()`."""
    topic = _sample(model, city_code).topic()
    if topic in topics.PIPELINE_TOPICS:
        return topic
    return topic.split(".", 1)[0]  # tasks.<city4>[.<district6>] -> tasks


def _key_field(model: type[Event], city_code: str) -> str:
    """The field whose value is the partition key (`demand_id`, `task_id`, ...)."""
    sample = _sample(model, city_code)
    key = sample.key()
    for name in model.model_fields:
        if str(getattr(sample, name, None)) == key:
            return name
    raise ValueError(f"{model.TYPE}: the key is no field of the event")


def _message_id(model: type[Event]) -> str:
    return model.TYPE


def _headers_schema(model: type[Event]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        name: {"type": "string", "description": description}
        for name, description in _HEADER_DESCRIPTIONS.items()
    }
    properties["ce_specversion"]["const"] = "1.0"
    properties["ce_type"]["const"] = model.TYPE
    properties["content-type"]["const"] = "application/json"
    required = list(_HEADER_DESCRIPTIONS)
    properties[TRACEPARENT_HEADER] = {  # optional: only a process that traces sets it
        "type": "string",
        "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        "description": "W3C trace context (CloudEvents distributed-tracing extension)",
    }
    if model.target_unit_code is not Event.target_unit_code:
        properties["ce_unitcode"] = {
            "type": "string",
            # ASCII digits; the lengths hold for validators whose `$` takes a trailing newline.
            "pattern": "^[0-9]{12}$",
            "minLength": 12,
            "maxLength": 12,
            "description": "target unit code: filter without decoding the body",
        }
        required.append("ce_unitcode")
    if model.target_department_id is not Event.target_department_id:
        properties["ce_departmentid"] = {
            "type": "string",
            "description": "target department id (<unit code>.<type>)",
        }
        required.append("ce_departmentid")
    return {"type": "object", "properties": properties, "required": required}


def _message(model: type[Event], city_code: str) -> dict[str, Any]:
    doc = (model.__doc__ or "").strip().splitlines()
    summary = doc[0] if doc and not doc[0].startswith(model.__name__ + "(") else model.TYPE
    key_field = _key_field(model, city_code)
    key = key_field.replace("_", " ")
    key_format = (
        {"format": "uuid"}
        if model.model_fields[key_field].annotation is UUID
        else {"pattern": r"^\d{12}$"}  # a unit code
    )
    return {
        "name": model.__name__,
        "title": model.TYPE,
        "summary": summary,
        "contentType": "application/json",
        "headers": _headers_schema(model),
        "payload": {"$ref": f"schemas/{model.TYPE}.json"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", **key_format, "description": f"the {key}"},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _dead_letter_message() -> dict[str, Any]:
    dlq_headers = {
        "dlq_error": "why the message could not be handled (at most 4,000 characters)",
        "dlq_consumer": "the consumer group that gave up",
        "dlq_topic": "the topic the message came from",
        "dlq_partition": "its partition",
        "dlq_offset": "its offset",
        "dlq_attempts": "how many times the handler was tried",
        "dlq_time": "when it was dead-lettered (RFC 3339)",
    }
    return {
        "name": "DeadLetter",
        "title": "dead letter",
        "summary": "A message a consumer could not handle: the original bytes and headers, "
        "with the dlq_* headers added.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "properties": {
                name: {"type": "string", "description": description}
                for name, description in dlq_headers.items()
            },
            "required": list(dlq_headers),
            "additionalProperties": {"type": "string"},
        },
        "payload": {"description": "the original message value, unchanged"},
    }


def _channel(plan: TopicPlan, message_ids: Iterable[str], lists: Lists) -> dict[str, Any]:
    if plan.family == "pipeline":
        description = f"Pipeline topic {plan.name}."
    elif plan.family == "dead-letter":
        description = f"Dead letters of {plan.name[: -len(topics.DLQ_SUFFIX)]}."
    else:
        assert plan.unit_code is not None
        unit = lists.units_by_code[plan.unit_code]
        scope = (
            f"the city-level units of {unit.name}"
            if level_of(plan.unit_code) is Level.city
            else f"every unit at district, street and community level in {unit.name}"
        )
        description = (
            f"{plan.family.capitalize()} of {scope} ({plan.unit_code}). The ce_unitcode header "
            "names the exact unit, so a consumer filters without decoding the body."
        )
    binding_config: dict[str, Any] = {
        "cleanup.policy": [plan.config["cleanup.policy"]],
        "retention.ms": plan.retention_ms,
        "min.insync.replicas": MIN_IN_SYNC_REPLICAS,
    }
    return {
        "address": plan.name,
        "title": plan.name,
        "description": description,
        "messages": {
            message_id: {"$ref": f"#/components/messages/{message_id}"}
            for message_id in message_ids
        },
        "bindings": {
            "kafka": {
                "topic": plan.name,
                "partitions": plan.partitions,
                "replicas": plan.replicas,
                "topicConfiguration": binding_config,
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _operation(action: str, channel: str, party: str, message_ids: Iterable[str]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": f"{party} {'sends to' if action == 'send' else 'reads'} {channel}",
        "messages": [
            {"$ref": f"#/channels/{channel}/messages/{message_id}"} for message_id in message_ids
        ],
    }
    if action == "receive" and party in _SERVICES:
        operation["bindings"] = {
            "kafka": {
                "groupId": {"type": "string", "const": f"liandong-{party}"},
                "bindingVersion": KAFKA_BINDING,
            }
        }
    return operation


def _slug(party: str) -> str:
    return party.replace(" ", "-")


def render_document(lists: Lists) -> dict[str, Any]:
    """The AsyncAPI document as a mapping (deterministic for the same lists and contracts)."""
    by_family: dict[str, list[str]] = {}
    messages: dict[str, Any] = {}
    for model in EVENT_MODELS:
        messages[_message_id(model)] = _message(model, lists.city_code)
        by_family.setdefault(_message_family(model, lists.city_code), []).append(_message_id(model))
    messages["DeadLetter"] = _dead_letter_message()

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for plan in topic_plans(lists):
        if plan.family == "dead-letter":
            message_ids = ["DeadLetter"]
            # written by the services that consume the original topic
            original = plan.name[: -len(topics.DLQ_SUFFIX)]
            original_family = original if original in _RECEIVERS else original.split(".", 1)[0]
            senders = [party for party in _RECEIVERS[original_family] if party in _SERVICES]
            receivers = ["operators"]
        else:
            family = plan.name if plan.family == "pipeline" else plan.family
            message_ids = by_family.get(family, [])
            senders = _SENDERS[family]
            receivers = _RECEIVERS[family]
        channels[plan.name] = _channel(plan, message_ids, lists)
        for party in senders:
            operations[f"{_slug(party)}.send.{plan.name}"] = _operation(
                "send", plan.name, party, message_ids
            )
        for party in receivers:
            operations[f"{_slug(party)}.receive.{plan.name}"] = _operation(
                "receive", plan.name, party, message_ids
            )

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Liandong (联动) events",
            "version": f"1.0.0+{lists.version}",
            "description": (
                "Every Kafka topic of Liandong for the lists of "
                f"{lists.units_by_code[lists.city_code].name} ({lists.city_code}): "
                "CloudEvents 1.0 in Kafka binary mode (attributes in ce_* headers, JSON body). "
                "Generated from contracts/ by `liandong asyncapi`; do not edit."
            ),
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "cluster": {
                "host": "liandong-kafka-bootstrap:9092",
                "protocol": "kafka",
                "description": "In-cluster plain listener of the Strimzi cluster; the services "
                "only (a NetworkPolicy keeps everyone else out).",
            },
            "departments": {
                "host": "liandong-kafka-bootstrap:9093",
                "protocol": "kafka-secure",
                "description": "TLS listener for department and coordinator systems, each "
                "with the certificate of its KafkaUser; ACLs allow only its own chain topic.",
                "security": [{"$ref": "#/components/securitySchemes/kafkaUserCertificate"}],
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "securitySchemes": {
                "kafkaUserCertificate": {
                    "type": "X509",
                    "description": "Client certificate of a Strimzi KafkaUser "
                    "(k8s/kafka/generated/users.yaml).",
                }
            },
        },
    }


def render_asyncapi(lists: Lists) -> str:
    """The YAML text of `contracts/asyncapi.yaml`."""
    header = (
        "# Generated by `liandong asyncapi` from contracts/ and the lists; do not edit.\n"
        "# A test fails when it is stale.\n"
    )
    body = yaml.safe_dump(render_document(lists), sort_keys=False, allow_unicode=True, width=100)
    return header + body


def write_asyncapi(lists: Lists, path: Path = ASYNCAPI_PATH) -> Path:
    path.write_text(render_asyncapi(lists), encoding="utf-8")
    return path
