"""Each service's migrations create exactly what its models declare, in its own schema."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from services.runtime.migrations import SERVICES, service_metadata


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_models(engine, service):
    metadata = service_metadata(service)

    def diff(connection):
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, _p: type_ != "schema" or name == service,
                "compare_type": True,
                "version_table_schema": service,
            },
        )
        return compare_metadata(context, metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
        version = await connection.scalar(
            text(f'select version_num from "{service}".alembic_version')
        )
    assert differences == []
    assert version.startswith(f"{service}_")
