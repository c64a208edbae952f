"""Feedback's tables in schema `feedback`: one callback per replied demand, outbox, inbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, MetaData, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.runtime.service import ServiceTables

metadata = MetaData(schema="feedback")


class Base(DeclarativeBase):
    metadata = metadata


class Callback(Base):
    """回访: opened when the lead replies, answered by the citizen's evaluation."""

    __tablename__ = "callbacks"

    demand_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    state: Mapped[str] = mapped_column(String(32))  # awaiting_evaluation | evaluated
    department_id: Mapped[str | None] = mapped_column(String(100))
    department_name: Mapped[str | None] = mapped_column(String(200))
    reply_text: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    satisfaction: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    evaluated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


tables = ServiceTables(metadata)
