"""Who acts, on what, and when: the context every department's and coordinator's use case takes.

Grouped once here (as cosmicpython passes a command) so each use case's signature names only
what is particular to it: a reply's text, a return's legal basis, a summons's deadline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class DepartmentAct:
    """A department's user acting on one of its tasks; `expected_version` is the If-Match the
    request carried (None: no check)."""

    task_id: uuid.UUID
    department_id: str
    actor: str
    now: datetime
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class CoordinatorAct:
    """A coordinator's user acting within the jurisdiction of `coordinator_unit`."""

    coordinator_unit: str
    actor: str
    now: datetime
