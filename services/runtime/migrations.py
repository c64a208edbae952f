"""Alembic, one schema and one version table per service.

All services share one environment (`services/runtime/alembic/env.py`); each keeps its own
revisions in `services/<service>/migrations/` and its version table in its own schema, so a
service's schema can be migrated and deployed on its own.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

SERVICES = ("intake", "classification", "routing", "feedback")
_ROOT = Path(__file__).resolve().parent.parent


def alembic_config(service: str, async_database_url: str) -> Config:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    config = Config()
    config.set_main_option("path_separator", "os")
    config.set_main_option("script_location", str(_ROOT / "runtime" / "alembic"))
    config.set_main_option("version_locations", str(_ROOT / service / "migrations"))
    config.set_main_option("sqlalchemy.url", async_database_url.replace("%", "%%"))
    config.set_main_option("liandong.service", service)
    return config


def upgrade(service: str, async_database_url: str, revision: str = "head") -> None:
    """Run from synchronous code (a CLI, or a worker thread): it starts its own event loop."""
    command.upgrade(alembic_config(service, async_database_url), revision)


def upgrade_all(async_database_url: str) -> None:
    for service in SERVICES:
        upgrade(service, async_database_url)


def service_metadata(service: str) -> MetaData:
    module = importlib.import_module(f"services.{service}.models")
    metadata: MetaData = module.metadata
    return metadata


def run_environment(config: Config) -> None:
    """Body of env.py: migrate one service's schema online."""
    from alembic import context

    service = config.get_main_option("liandong.service")
    url = config.get_main_option("sqlalchemy.url")
    if not service or not url:
        raise RuntimeError("configure alembic with services.runtime.migrations.alembic_config")
    metadata = service_metadata(service)
    schema = metadata.schema
    assert schema == service, f"models of {service} must live in schema {service}"

    def include_name(name: str | None, type_: str, _parents: object) -> bool:
        return type_ != "schema" or name == schema

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=include_name,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def online() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await connection.commit()
            await connection.run_sync(migrate)
        await engine.dispose()

    asyncio.run(online())


def heads(service: str) -> set[str]:
    """The head revisions of a service's migrations, as the code knows them."""
    from alembic.script import ScriptDirectory

    config = alembic_config(service, "postgresql+asyncpg://unused/unused")
    return set(ScriptDirectory.from_config(config).get_heads())


async def behind(services: tuple[str, ...], async_database_url: str) -> list[str]:
    """The services whose schema is not at the code's head revision (never migrated, or an
    older revision): a process of this code must not start on it."""
    engine = create_async_engine(async_database_url, poolclass=NullPool)
    late = []
    try:
        async with engine.connect() as connection:
            for service in services:
                table = f'"{service}".alembic_version'  # one of SERVICES, never input
                exists = await connection.scalar(text("SELECT to_regclass(:t)"), {"t": table})
                found: set[str] = set()
                if exists is not None:
                    query = text(f"SELECT version_num FROM {table}")  # noqa: S608
                    found = set((await connection.execute(query)).scalars())
                if found != heads(service):
                    late.append(service)
    finally:
        await engine.dispose()
    return late
