"""The fields every event about a task carries, read from the task's row or the sweeper's
snapshot of it: which demand, when, which task, and whose (the department and its unit, which
the topic and the headers are derived from)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol


class EventSubject(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def demand_id(self) -> uuid.UUID: ...
    @property
    def department_id(self) -> str: ...
    @property
    def unit_code(self) -> str: ...


def task_event_fields(task: EventSubject, now: datetime) -> dict[str, object]:
    return {
        "demand_id": task.demand_id,
        "occurred_at": now,
        "task_id": task.id,
        "department_id": task.department_id,
        "unit_code": task.unit_code,
    }
