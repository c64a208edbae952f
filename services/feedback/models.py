"""Feedback's tables in schema `feedback`: callbacks, the facts behind the three rates, the
counters kept from them, outbox and inbox.

The facts are rows of what the events said (a task assigned, signed, replied; an evaluation),
so the counters can be recomputed from them at any time (`liandong rates recompute`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, MetaData, String, Text, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.runtime.service import ServiceTables

metadata = MetaData(schema="feedback")


class Base(DeclarativeBase):
    metadata = metadata


class Callback(Base):
    """回访: opened when the lead replies, answered by the citizen's evaluation, or closed as not
    evaluated when the window ends."""

    __tablename__ = "callbacks"

    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    state: Mapped[str] = mapped_column(String(32))  # awaiting_evaluation|evaluated|not_evaluated
    department_id: Mapped[str | None] = mapped_column(String(100))
    department_name: Mapped[str | None] = mapped_column(String(200))
    reply_text: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    evaluate_by: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reply_round: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    satisfaction: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    evaluated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    evaluated_by: Mapped[str | None] = mapped_column(String(200))  # citizen | operator:<sub>
    # When `demand.status` said the demand closed: a later reply never reopens the callback.
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "ix_callbacks_due",
            "evaluate_by",
            postgresql_where=text("state = 'awaiting_evaluation'"),
        ),
    )


class DemandFact(Base):
    """What `demand.classified` said: matter and place (hot spots), and the citizen's phone for
    the callback, erased when the demand closes."""

    __tablename__ = "demand_facts"

    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(100))
    unit_code: Mapped[str] = mapped_column(String(12))
    classified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    citizen_phone: Mapped[str | None] = mapped_column(String(32))


class TaskFact(Base):
    """One task as its department's topic told it."""

    __tablename__ = "task_facts"

    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    department_id: Mapped[str] = mapped_column(String(100))
    department_name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(16))
    matter_code: Mapped[str] = mapped_column(String(100))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sign_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reply_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReplyFact(Base):
    """One reply (办结) of a task, with the deadline it had then; a redo adds another."""

    __tablename__ = "reply_facts"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    department_id: Mapped[str] = mapped_column(String(100))
    department_name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(String(12))
    replied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reply_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RedoFact(Base):
    """重办: routing sent a task back to its lead after the citizen's evaluation."""

    __tablename__ = "redo_facts"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    department_id: Mapped[str] = mapped_column(String(100))
    department_name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(String(12))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    redo: Mapped[int] = mapped_column(Integer)  # the task's redo count with this one
    escalated: Mapped[bool] = mapped_column(Boolean)  # past the allowed redos


class PraiseFact(Base):
    """表扬: praise for a department, passed on at the desk (`DepartmentPraised`)."""

    __tablename__ = "praise_facts"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    department_id: Mapped[str] = mapped_column(String(100), index=True)
    department_name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(String(12))
    praised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WithdrawalFact(Base):
    """撤诉: the citizen withdrew a routed demand; it counts for the lead department as
    withdrawn, never as resolved."""

    __tablename__ = "withdrawal_facts"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    department_id: Mapped[str] = mapped_column(String(100), index=True)
    department_name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(String(12))
    withdrawn_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EvaluationFact(Base):
    """One evaluation of a reply, or its absence (not evaluated), for the department that
    replied. Written with the event that announces it (`demand.evaluated`)."""

    __tablename__ = "evaluation_facts"

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    department_id: Mapped[str] = mapped_column(String(100))
    department_name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(String(12))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))  # evaluated | not_evaluated
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    satisfaction: Mapped[str | None] = mapped_column(String(32))
    evaluated_by: Mapped[str] = mapped_column(String(200))


class RateCounter(Base):
    """A count per month (city time), department and metric, kept up to date from the facts."""

    __tablename__ = "rate_counters"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # 2026-11
    department_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    department_name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(String(12))
    value: Mapped[int] = mapped_column(Integer)


tables = ServiceTables(metadata)
