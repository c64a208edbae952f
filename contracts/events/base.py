"""Base of every event body: frozen, closed, versioned by its CloudEvents type."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict


class Event(BaseModel):
    """An event body. The CloudEvents `type` names the event and its schema version.

    A breaking change is a new class with a new `TYPE` (`...v2`), never an edit of this one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str]

    demand_id: UUID
    occurred_at: AwareDatetime

    def topic(self) -> str:
        raise NotImplementedError

    def key(self) -> str:
        """Partition key: order is kept per key."""
        return str(self.demand_id)

    def subject(self) -> str:
        """The CloudEvents subject: the entity the event is about."""
        return f"demand/{self.demand_id}"

    def target_unit_code(self) -> str | None:
        """Target unit, carried as the `ce_unitcode` header."""
        return None

    def target_department_id(self) -> str | None:
        """Target department, carried as the `ce_departmentid` header."""
        return None

    @property
    def time(self) -> datetime:
        return self.occurred_at
