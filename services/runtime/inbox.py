"""Inbox: the idempotent consumer. (consumer, event id) is recorded in the effect's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", String(100), nullable=False),
        Column("event_id", String(100), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )


async def record_first_delivery(
    session: AsyncSession, table: Table, *, consumer: str, event_id: str, event_type: str
) -> bool:
    """True the first time this consumer sees the event; False for a redelivery."""
    first = await record_first_deliveries(
        session, table, consumer=consumer, events=[(event_id, event_type)]
    )
    return event_id in first


async def record_first_deliveries(
    session: AsyncSession, table: Table, *, consumer: str, events: Sequence[tuple[str, str]]
) -> set[str]:
    """`record_first_delivery` for a batch of (event id, event type) in one statement: the ids
    this consumer sees for the first time (an id twice in the batch counts once)."""
    if not events:
        return set()
    statement = text(  # the table's own name, never input
        f"INSERT INTO {table.schema}.{table.name} (consumer, event_id, event_type) "  # noqa: S608
        "SELECT :consumer, * FROM unnest(CAST(:ids AS text[]), CAST(:types AS text[])) "
        "ON CONFLICT DO NOTHING RETURNING event_id"
    )
    result = await session.execute(
        statement,
        {
            "consumer": consumer,
            "ids": [event_id for event_id, _ in events],
            "types": [event_type for _, event_type in events],
        },
    )
    return set(result.scalars())
