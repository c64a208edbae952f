"""Classification's tables in schema `classification`: one result per demand, outbox, inbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, MetaData, String, Text, Uuid
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
    rule: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    lists_version: Mapped[str] = mapped_column(String(64))
    classified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


tables = ServiceTables(metadata)
