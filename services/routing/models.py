"""Routing's tables in schema `routing`: tasks, their audited transitions, outbox, inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.runtime.service import ServiceTables

metadata = MetaData(schema="routing")


class Base(DeclarativeBase):
    metadata = metadata


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        # One live task per (demand, role, department); a department that returned a task may
        # be named again by a coordinator's ruling.
        Index(
            "uq_tasks_live",
            "demand_id",
            "role",
            "department_id",
            unique=True,
            postgresql_where=text("state NOT IN ('returned', 'superseded')"),
        ),
        # The duplicate check: live lead tasks of one matter in one community, recent first.
        Index(
            "ix_tasks_open_leads",
            "matter_code",
            "demand_unit_code",
            "created_at",
            postgresql_where=text("role = 'lead' AND state IN ('assigned', 'signed', 'contacted')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    role: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[str] = mapped_column(String(100), index=True)
    department_name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(String(12))
    demand_unit_code: Mapped[str] = mapped_column(String(12))
    matter_code: Mapped[str] = mapped_column(String(40))
    demand_type: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(500))
    citizen_name: Mapped[str | None] = mapped_column(String(100))
    citizen_phone: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    # Bumped on every transition; the fencing token of timers and concurrent writers.
    version: Mapped[int] = mapped_column(Integer, default=1)
    sign_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_contact_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reply_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When the reply clock started again (a redo, an approved extension); its reminder falls at a
    # share of the window from here. None: it runs from the task's creation.
    reply_clock_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Every stage's limit runs in working time: reminders fall at a share of the working time
    # of the window, not of the clock's (which would put many at night or on a Sunday).
    working_clock: Mapped[bool] = mapped_column(Boolean, default=False)
    # Computed past the published holiday calendar (plain weekdays): recompute when it is out.
    deadlines_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    reply_result: Mapped[str | None] = mapped_column(String(32))
    reply_text: Mapped[str | None] = mapped_column(Text)
    lists_version: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(200))
    # Set by a coordinator's ruling (裁定): the task can no longer be returned.
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The coordinators above the department's unit, nearest first, ending at the city: copied
    # at creation, so a later change of the lists cannot strand an escalation.
    chain: Mapped[list[str]] = mapped_column(ARRAY(String(12)))
    # Clocks that already fired, e.g. "remind:sign", "breach:reply": never fired twice.
    fired: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    # Escalation: which coordinator of `chain` holds the task (1 = chain[0]), for which late
    # stage, until when it must act; supervised (督办) once it reached the city.
    escalation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    escalation_level: Mapped[int | None] = mapped_column(Integer)
    escalation_stage: Mapped[str | None] = mapped_column(String(16))
    escalation_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    # 重办: how often the citizen sent the reply back.
    redos: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def escalated_to(self) -> str | None:
        """The unit of the coordinator holding the escalated task, if any."""
        return self.chain[self.escalation_level - 1] if self.escalation_level else None


class TaskTransition(Base):
    """Audit trail: who moved the task, when, from where to where and why. Append-only in the
    database itself (a trigger refuses UPDATE and DELETE; migration routing_0018)."""

    __tablename__ = "task_transitions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Dispute(Base):
    """A demand its departments keep returning: the coordinator of the parent level rules."""

    __tablename__ = "disputes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    coordinator_unit_code: Mapped[str] = mapped_column(String(12), index=True)
    state: Mapped[str] = mapped_column(String(16))  # open | ruled
    reason: Mapped[str] = mapped_column(Text)
    returned_by: Mapped[str] = mapped_column(Text)  # department ids, comma-separated, in order
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ruled_by: Mapped[str | None] = mapped_column(String(200))
    ruled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ruling: Mapped[str | None] = mapped_column(Text)
    # What every task of the demand carries (personal data included: routing's own store).
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The coordinator's time to rule: past it the dispute climbs to the coordinator above (the
    # row is its own timer); at the city it is supervised (督办) and waits there.
    act_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    # The demand's limits run in working time: so does the coordinators' time to rule (else on
    # the clock: critical demands, the emergency profile).
    working_clock: Mapped[bool] = mapped_column(Boolean, default=True)


class Ruling(Base):
    """A coordinator's ruling (裁定) of a dispute, with its legal basis: history, append-only in
    the database (a trigger refuses UPDATE and DELETE; migration routing_0018)."""

    __tablename__ = "rulings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    dispute_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("disputes.id"), index=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    coordinator_unit_code: Mapped[str] = mapped_column(String(12))
    ruled_by: Mapped[str] = mapped_column(String(200))
    ruled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lead_department_id: Mapped[str] = mapped_column(String(100))
    co_handler_department_ids: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    legal_basis: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)


class Extension(Base):
    """延期: the lead asks for more time before its reply deadline; a coordinator decides."""

    __tablename__ = "extensions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"), index=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    coordinator_unit_code: Mapped[str] = mapped_column(String(12), index=True)
    requested: Mapped[str] = mapped_column(String(40))  # a time limit, e.g. "5 working_days"
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # pending | approved | refused | lapsed
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    # The coordinator's time to decide: past it the request climbs to the coordinator above (the
    # row is its own timer, as a dispute's); at the city it is supervised (督办) and waits there.
    act_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)


class Summons(Base):
    """吹哨报到: a department called to a task's scene, with an arrival deadline."""

    __tablename__ = "summons"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"), index=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    department_id: Mapped[str] = mapped_column(String(100), index=True)
    summoned_by: Mapped[str] = mapped_column(String(200))
    # The unit of the coordinator who summoned: a missed arrival climbs from there.
    coordinator_unit_code: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text)
    summoned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    arrive_by: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    arrived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    missed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DemandLink(Base):
    """A duplicate demand merged into an open task: its citizen follows that task."""

    __tablename__ = "demand_links"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"), index=True)
    original_demand_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    similarity: Mapped[float]
    # linked | undone (separated by a coordinator) | closed (the merged demand was closed by its
    # citizen's evaluation or as not evaluated: it follows the task no more)
    state: Mapped[str] = mapped_column(String(16))
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(String(200))
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Deadline(Base):
    """A timer of a task: when it falls due the sweeper reminds or escalates. `fence` is the
    task's version when the timer was set: a timer whose task has moved on does nothing."""

    __tablename__ = "deadlines"
    __table_args__ = (UniqueConstraint("task_id", "stage", "action", "ref"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"))
    stage: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))  # remind | escalate
    ref: Mapped[str] = mapped_column(String(36), default="")  # the summons of an arrival timer
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    fence: Mapped[int] = mapped_column(Integer)


class Escalation(Base):
    """One step of a task's climb up its chain; the history behind GET /v1/escalations. Written
    open, closed once (climbed or resolved); a trigger refuses any other change and DELETE."""

    __tablename__ = "escalations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"), index=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    department_id: Mapped[str] = mapped_column(String(100))
    unit_code: Mapped[str] = mapped_column(String(12))
    coordinator_unit_code: Mapped[str] = mapped_column(String(12), index=True)
    matter_code: Mapped[str] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    supervised: Mapped[bool] = mapped_column(Boolean)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    act_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # open | climbed | resolved
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_reason: Mapped[str | None] = mapped_column(Text)


deadlines = cast(Table, Deadline.__table__)
escalations = cast(Table, Escalation.__table__)
tables = ServiceTables(metadata)
