"""`liandong notifications log`: the reference consumer of `citizen.notifications`.

It does what an SMS or app gateway does up to the sending: reads each callback request,
composes the message and prints one JSON line of what it would send. The phone and the
evaluation token are masked, so the line can go to any log. It reads as consumer group
`liandong-notifier` by default and commits after printing: a restart sends nothing twice
(at least once, by the usual rule).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer

from contracts import topics
from contracts.envelope import EnvelopeError, decode
from contracts.events import CallbackRequested
from services.runtime.kafka_clients import KafkaClientSettings, client_options
from services.runtime.logging import mask_text

_TOKEN = re.compile(r"(token=)[^&#\s]+")


def mask_phone(phone: str | None) -> str | None:
    """138****5678: the first three and the last four digits, the rest starred."""
    if phone is None:
        return None
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep = 3 if len(digits) >= 11 else 0
    return digits[:keep] + "*" * (len(digits) - keep - 4) + digits[-4:]


def mask_link(url: str) -> str:
    return _TOKEN.sub(r"\1***", url)


def sms_text(event: CallbackRequested, *, url: str, zone: ZoneInfo) -> str:
    """The message the citizen would read; the deadline in the city's time zone (the lists'
    `timezone`, `lists.calendar.zone`)."""
    by = event.evaluate_by.astimezone(zone).strftime("%m月%d日%H:%M")
    department = event.department_name or "承办部门"
    return (
        f"【12345】您的诉求已由{department}答复：{event.reply_text or '（见详情）'}。"
        f"请于{by}前评价：{url}"
    )


def describe(event: CallbackRequested, *, zone: ZoneInfo) -> dict[str, Any]:
    """What the gateway would send, with the personal data masked."""
    return {
        "channel": "sms" if event.citizen_phone else "app",
        "to": mask_phone(event.citizen_phone),
        "demand_id": str(event.demand_id),
        "reply_round": event.reply_round,
        "evaluate_by": event.evaluate_by.isoformat(),
        # A reply may quote a phone or ID number: masked like every log line.
        "text": mask_text(sms_text(event, url=mask_link(event.evaluation_url), zone=zone)),
    }


async def log_notifications(
    bootstrap_servers: str,
    *,
    out: TextIO,
    zone: ZoneInfo,
    group: str | None = "liandong-notifier",
    from_beginning: bool = True,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[], None] | None = None,
    security: KafkaClientSettings | None = None,
) -> None:
    consumer = AIOKafkaConsumer(
        topics.CITIZEN_NOTIFICATIONS,
        bootstrap_servers=bootstrap_servers,
        **(client_options(security) if security is not None else {}),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    stop = stop or asyncio.Event()
    try:
        if on_ready is not None:
            on_ready()
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    try:
                        _, event = decode(tuple(record.headers), record.value)
                    except EnvelopeError as exc:
                        line: dict[str, Any] = {
                            "error": f"unreadable message at {record.topic}@{record.offset}",
                            "reason": str(exc)[:300],
                        }
                    else:
                        if not isinstance(event, CallbackRequested):
                            continue  # another kind of notification: not this gateway's
                        line = describe(event, zone=zone)
                    print(json.dumps(line, ensure_ascii=False), file=out, flush=True)
            if batches and group is not None:
                await consumer.commit()
    finally:
        await consumer.stop()
