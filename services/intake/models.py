"""Intake's tables in schema `intake`: demands, their citizen-visible timeline, outbox, inbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from contracts.events import DemandReceived
from services.runtime.service import ServiceTables

metadata = MetaData(schema="intake")


class Base(DeclarativeBase):
    metadata = metadata


class Demand(Base):
    __tablename__ = "demands"
    # An Idempotency-Key is the submitter's own: another front end may use the same one.
    __table_args__ = (
        UniqueConstraint("submitted_by", "idempotency_key", name="uq_demands_submitter_key"),
        # The reconciler's look for demands left `received` (services/intake/redelivery.py).
        Index(
            "ix_demands_still_received",
            "received_at",
            postgresql_where=text("status = 'received'"),
        ),
        # The operator's lookup of a caller's earlier demands, newest first.
        Index(
            "ix_demands_caller",
            "citizen_phone_key",
            "received_at",
            postgresql_where=text("citizen_phone_key IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    demand_type: Mapped[str | None] = mapped_column(String(32))
    unit_code: Mapped[str | None] = mapped_column(String(12))
    address: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    citizen_name: Mapped[str | None] = mapped_column(String(100))
    citizen_phone: Mapped[str | None] = mapped_column(String(32))
    # The phone normalised (services/intake/callers.py), what a lookup by phone searches.
    citizen_phone_key: Mapped[str | None] = mapped_column(String(20))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    department_name: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Who submitted it (the credential's subject) and, through Open311, the service chosen.
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    service_code: Mapped[str | None] = mapped_column(String(64))
    # Open311's media_url: a link to the citizen's photo, shown back to every reader.
    media_url: Mapped[str | None] = mapped_column(String(1000))
    # The lead department's reply deadline, from the `assigned` status.
    expected_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    timeline: Mapped[list[TimelineEntry]] = relationship(
        order_by="TimelineEntry.id", lazy="raise", back_populates="demand"
    )


class TimelineEntry(Base):
    __tablename__ = "timeline"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    demand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("demands.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    department_name: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    demand: Mapped[Demand] = relationship(back_populates="timeline", lazy="raise")


tables = ServiceTables(metadata)
# The reconciler finds a demand's `demand.received` row in the outbox by its key.
Index(
    "ix_outbox_demand_received_key",
    tables.outbox.c.key,
    postgresql_where=text(f"event_type = '{DemandReceived.TYPE}'"),
)
