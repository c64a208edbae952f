"""`liandong watch escalations --unit CODE`: a live view for a command centre.

One pattern subscription covers every escalation topic at or beneath the unit (a city sees all
its districts); the `ce_unitcode` header narrows it to a street or community without decoding
the body. No consumer group: a watcher reads every partition, commits nothing, and never takes
messages away from another consumer.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence
from typing import TextIO

from aiokafka import AIOKafkaConsumer

from contracts import topics
from contracts.envelope import EnvelopeError, decode
from contracts.events import TaskEscalated, TaskEscalationResolved
from contracts.events.escalation import DisputeOpened, DisputeRuled
from contracts.jurisdiction import Level, level_of
from contracts.lists import Lists
from services.routing.repository import jurisdiction_prefix
from services.runtime.kafka_clients import KafkaConnection


def pattern_for(unit_code: str) -> str:
    """The topic pattern that covers the unit: its own for a city or district, its district's
    for a street or community, every city's of the province for a province."""
    level = level_of(unit_code)
    if level is Level.province:
        return rf"^escalations\.{re.escape(unit_code[:2])}\d\d(\..*)?$"
    if level in (Level.city, Level.district):
        return topics.escalations_pattern(unit_code)
    return topics.escalations_pattern(unit_code[:6] + "0" * 6)


def describe(event: object, lists: Lists) -> str:
    """One line a person at a command centre reads."""

    def name(code: str) -> str:
        unit = lists.units_by_code.get(code)
        return f"{unit.name}({code})" if unit else code

    if isinstance(event, TaskEscalated):
        where = "督办 supervised at " if event.supervised else "to "
        act = f", act by {event.act_by.isoformat()}" if event.act_by else ""
        return (
            f"{event.occurred_at.isoformat()} ESCALATED L{event.level} {where}"
            f"{name(event.coordinator_unit_code)}: task {event.task_id} of {event.department_id}"
            f" [{event.matter_code}] {event.stage.value}: {event.reason}{act}"
        )
    if isinstance(event, TaskEscalationResolved):
        return (
            f"{event.occurred_at.isoformat()} RESOLVED at {name(event.coordinator_unit_code)}: "
            f"task {event.task_id} by {event.resolved_by}: {event.reason}"
        )
    if isinstance(event, DisputeOpened):
        return (
            f"{event.occurred_at.isoformat()} DISPUTE at {name(event.coordinator_unit_code)}: "
            f"demand {event.demand_id} [{event.matter_code}] returned by "
            f"{', '.join(event.returned_by)}: {event.reason}"
        )
    if isinstance(event, DisputeRuled):
        return (
            f"{event.occurred_at.isoformat()} RULED at {name(event.coordinator_unit_code)}: "
            f"demand {event.demand_id} lead {event.lead_department_id} by {event.ruled_by}"
        )
    return repr(event)


def header_text(headers: Sequence[tuple[str, bytes | None]], name: str) -> str:
    """A header's text, "" when it is missing or has no value (a foreign producer's record is
    printed as unreadable further on, not a crash of the watch)."""
    value = next((v for k, v in headers if k == name), None)
    return value.decode("utf-8", "replace") if value is not None else ""


async def watch_escalations(
    connection: KafkaConnection,
    unit_code: str,
    lists: Lists,
    *,
    out: TextIO,
    from_beginning: bool = False,
    as_json: bool = False,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Print the escalations at or beneath `unit_code` until `stop`; the connection's security
    is the coordinator's own Kafka user, whose ACLs allow the escalations of its area only."""
    prefix = jurisdiction_prefix(unit_code)
    consumer = AIOKafkaConsumer(
        **connection.options(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        metadata_max_age_ms=5000,  # a new district's topic is picked up within seconds
    )
    consumer.subscribe(pattern=pattern_for(unit_code))
    await consumer.start()
    stop = stop or asyncio.Event()
    try:
        if on_ready is not None:
            on_ready()
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if not header_text(record.headers, "ce_unitcode").startswith(prefix):
                        continue
                    try:
                        envelope, event = decode(tuple(record.headers), record.value)
                    except EnvelopeError as exc:
                        print(f"unreadable message at {record.topic}@{record.offset}: {exc}",
                              file=out, flush=True)  # fmt: skip
                        continue
                    if as_json:
                        body = {"type": envelope.type, **event.model_dump(mode="json")}
                        line = json.dumps(body, ensure_ascii=False)
                    else:
                        line = describe(event, lists)
                    print(line, file=out, flush=True)
    finally:
        await consumer.stop()
