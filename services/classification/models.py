"""Classification's tables in schema `classification`: one result per demand, outbox, inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Computed, DateTime, Index, MetaData, String, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.runtime.service import ServiceTables

metadata = MetaData(schema="classification")


class Base(DeclarativeBase):
    metadata = metadata


class Classification(Base):
    __tablename__ = "classifications"

    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))  # classified | triage
    matter_code: Mapped[str | None] = mapped_column(String(40))
    demand_type: Mapped[str | None] = mapped_column(String(32))
    urgency: Mapped[str | None] = mapped_column(String(16))
    unit_code: Mapped[str | None] = mapped_column(String(12))
    confidence: Mapped[float]
    category: Mapped[str | None] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(Text)
    lists_version: Mapped[str] = mapped_column(String(64))
    classified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TriageItem(Base):
    """A demand waiting for an operator to classify it by hand (分拨)."""

    __tablename__ = "triage_items"

    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | classified
    reason: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    demand_type: Mapped[str | None] = mapped_column(String(32))
    unit_code: Mapped[str | None] = mapped_column(String(12))
    address: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    citizen_name: Mapped[str | None] = mapped_column(String(100))
    citizen_phone: Mapped[str | None] = mapped_column(String(32))
    suggestions: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # What the rules say of the urgency (normal | urgent | critical), and the critical cue in
    # the text that made it critical: the queue lists critical first, then urgent, then by age.
    urgency: Mapped[str] = mapped_column(String(16))
    urgency_cue: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeskExitRecord(Base):
    """The audit of a desk exit: which contact left the queue how, why, and by whose hand."""

    __tablename__ = "desk_exits"

    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    exit: Mapped[str] = mapped_column(String(16))  # consultation | praise | invalid | merge
    reason: Mapped[str | None] = mapped_column(String(32))  # the invalid reason
    note: Mapped[str | None] = mapped_column(Text)  # the answer, the praise note, the why
    target: Mapped[str | None] = mapped_column(String(100))  # department or demand id
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class KnowledgeEntry(Base):
    """知识库: a question and its answer, kept by the department that owns it, offered to the
    operator between `valid_from` and `valid_to`. `tokens` are the jieba words of the question
    and the answer, so PostgreSQL's 'simple' full-text configuration can index Chinese."""

    __tablename__ = "knowledge_entries"
    __table_args__ = (
        Index("ix_classification_knowledge_entries_search", "search", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    department_id: Mapped[str] = mapped_column(String(100), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    matters: Mapped[list[str]] = mapped_column(JSONB)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tokens: Mapped[str] = mapped_column(Text)
    search: Mapped[Any] = mapped_column(
        TSVECTOR, Computed("to_tsvector('simple'::regconfig, tokens)", persisted=True)
    )
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LabelledExample(Base):
    """An operator's decision, kept as a training example for the next model."""

    __tablename__ = "labelled_examples"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    text: Mapped[str] = mapped_column(Text)
    matter_code: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(32))
    unit_code: Mapped[str] = mapped_column(String(12))
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


tables = ServiceTables(metadata)
