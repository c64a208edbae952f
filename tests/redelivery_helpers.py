"""A demand whose `demand.received` event the outbox published but no consumer ever read (the
broker lost it), as the reconciler of services/intake/redelivery.py finds it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import Channel, Citizen, DemandReceived, DemandStatus, Location
from services.intake.models import Demand, tables
from services.runtime.outbox import Outbox

CONTENT = "月河社区楼下烧烤店每晚噪音扰民到凌晨两点，多次反映未解决"


async def add_published_demand(
    session: AsyncSession, *, received_at: datetime, status: DemandStatus
) -> tuple[uuid.UUID, uuid.UUID]:
    """The demand and its event, marked published at `received_at`: (demand id, event id)."""
    demand_id = uuid.uuid4()
    session.add(
        Demand(
            id=demand_id,
            channel=Channel.hotline.value,
            content=CONTENT,
            unit_code="330502001016",
            citizen_name="张三",
            citizen_phone="13812345678",
            request_sha256="0" * 64,
            status=status.value,
            received_at=received_at,
            updated_at=received_at,
            submitted_by="channel:hotline",
        )
    )
    event = DemandReceived(
        demand_id=demand_id,
        occurred_at=received_at,
        channel=Channel.hotline,
        content=CONTENT,
        demand_type=None,
        location=Location(unit_code="330502001016"),
        citizen=Citizen(name="张三", phone="13812345678"),
    )
    values = Outbox(tables.outbox, source="/liandong/intake").values(event)
    await session.execute(
        insert(tables.outbox).values(**values, created_at=received_at, published_at=received_at)
    )
    return demand_id, values["event_id"]


async def published_at(session: AsyncSession, event_id: uuid.UUID) -> datetime | None:
    value: datetime | None = await session.scalar(
        select(tables.outbox.c.published_at).where(tables.outbox.c.event_id == event_id)
    )
    return value
