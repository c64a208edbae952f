"""Each service's migrations create exactly what its models declare, in its own schema."""

import asyncio
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from services.runtime.launcher import async_url
from services.runtime.migrations import SERVICES, service_metadata, upgrade
from tests.conftest import _create_database


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


async def test_idempotency_keys_become_per_submitter_on_a_table_with_rows(infra):
    """intake_0003 replaces the table-wide unique key by one per (submitter, key) on a database
    that already holds demands, including one from before submitters were recorded."""
    url = await _create_database(infra.database_url)
    insert = text(
        "INSERT INTO intake.demands (id, channel, content, request_sha256, status, received_at,"
        " updated_at, idempotency_key, submitted_by)"
        " VALUES (:id, 'app', 'content', 'sha', 'received', now(), now(), :key, :submitter)"
    )
    engine = create_async_engine(async_url(url))
    try:
        await asyncio.to_thread(upgrade, "intake", async_url(url), "intake_0002")
        async with engine.begin() as connection:
            for key, submitter in (("k-1", "channel:a"), ("k-2", "channel:b"), ("k-3", None)):
                await connection.execute(
                    insert, {"id": uuid.uuid4(), "key": key, "submitter": submitter}
                )
        await asyncio.to_thread(upgrade, "intake", async_url(url), "head")
        async with engine.begin() as connection:
            # Another submitter may now use a key that is taken...
            await connection.execute(
                insert, {"id": uuid.uuid4(), "key": "k-1", "submitter": "channel:b"}
            )
            count = await connection.scalar(text("SELECT count(*) FROM intake.demands"))
        assert count == 4
        # ...the same submitter still may not.
        with pytest.raises(IntegrityError, match="uq_demands_submitter_key"):
            async with engine.begin() as connection:
                await connection.execute(
                    insert, {"id": uuid.uuid4(), "key": "k-1", "submitter": "channel:a"}
                )
    finally:
        await engine.dispose()  # the database stays, like the run's own (conftest)


async def test_triage_items_get_an_urgency_on_a_table_with_rows(infra):
    """classification_0003 adds the urgency to a queue that already holds demands: a text with
    a critical cue becomes critical with its first cue (in the rules' order), the others
    normal."""
    url = await _create_database(infra.database_url)
    insert = text(
        "INSERT INTO classification.triage_items (demand_id, state, reason, content,"
        " suggestions, created_at) VALUES (:id, 'pending', 'r', :content, '{}', now())"
    )
    contents = {
        uuid.uuid4(): ("楼道里燃气泄漏，味道很大", "critical", "燃气泄漏"),
        uuid.uuid4(): ("电梯里有人被困，旁边还着火了", "critical", "着火"),  # 着火 comes first
        uuid.uuid4(): ("小区门口垃圾桶满了没人清运", "normal", None),
    }
    engine = create_async_engine(async_url(url))
    try:
        await asyncio.to_thread(upgrade, "classification", async_url(url), "classification_0002")
        async with engine.begin() as connection:
            for demand_id, (content, _, _) in contents.items():
                await connection.execute(insert, {"id": demand_id, "content": content})
        await asyncio.to_thread(upgrade, "classification", async_url(url), "head")
        async with engine.begin() as connection:
            rows = await connection.execute(
                text("SELECT demand_id, urgency, urgency_cue FROM classification.triage_items")
            )
            found = {row.demand_id: (row.urgency, row.urgency_cue) for row in rows}
        assert found == {demand_id: (u, cue) for demand_id, (_, u, cue) in contents.items()}
    finally:
        await engine.dispose()  # the database stays, like the run's own (conftest)
