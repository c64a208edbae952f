"""Async SQLAlchemy engine and sessions; one PostgreSQL schema per service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]


def create_engine(async_url: str, *, pool_size: int = 5) -> AsyncEngine:
    # hide_parameters: an error's text never carries the statement's values (citizens' names).
    return create_async_engine(
        async_url, pool_size=pool_size, pool_pre_ping=True, hide_parameters=True
    )


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)
