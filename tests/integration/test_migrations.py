"""Each service's migrations create exactly what its models declare, in its own schema."""

import asyncio
import json
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


async def test_closed_markers_are_added_to_tables_with_rows(infra):
    """feedback_0003 marks the callbacks whose demand certainly closed (unanswered, or resolved
    and not dissatisfied); a dissatisfied one may await a redo's reply and stays open.
    routing_0016 adds the links' closed_at to a table that may hold links."""
    url = await _create_database(infra.database_url)
    insert = text(
        "INSERT INTO feedback.callbacks (demand_id, state, replied_at, evaluate_by, resolved,"
        " satisfaction, evaluated_at) VALUES (:id, :state, now(), now(), :resolved, :sat,"
        " now() - interval '1 hour')"
    )
    rows = {
        "awaiting": ("awaiting_evaluation", None, None),
        "unanswered": ("not_evaluated", None, None),
        "satisfied": ("evaluated", True, "satisfied"),
        "unresolved": ("evaluated", False, "basically_satisfied"),
        "dissatisfied": ("evaluated", True, "dissatisfied"),
    }
    ids = {name: uuid.uuid4() for name in rows}
    engine = create_async_engine(async_url(url))
    try:
        await asyncio.to_thread(upgrade, "feedback", async_url(url), "feedback_0002")
        async with engine.begin() as connection:
            for name, (state, resolved, sat) in rows.items():
                await connection.execute(
                    insert, {"id": ids[name], "state": state, "resolved": resolved, "sat": sat}
                )
        await asyncio.to_thread(upgrade, "feedback", async_url(url), "head")
        await asyncio.to_thread(upgrade, "routing", async_url(url), "head")
        async with engine.begin() as connection:
            closed = {
                row[0]
                for row in await connection.execute(
                    text("SELECT demand_id FROM feedback.callbacks WHERE closed_at IS NOT NULL")
                )
            }
            link_columns = await connection.scalar(
                text(
                    "SELECT count(*) FROM information_schema.columns WHERE table_schema ="
                    " 'routing' AND table_name = 'demand_links' AND column_name = 'closed_at'"
                )
            )
        assert closed == {ids["unanswered"], ids["satisfied"]}
        assert link_columns == 1
    finally:
        await engine.dispose()  # the database stays, like the run's own (conftest)


async def test_disputes_of_critical_demands_run_by_the_clock_on_a_table_with_rows(infra):
    """routing_0017 gives disputes a working clock: those of critical demands already open run
    by the clock, the others (and those opened before facts were kept) in working time."""
    url = await _create_database(infra.database_url)
    insert = text(
        "INSERT INTO routing.disputes (id, demand_id, coordinator_unit_code, state, reason,"
        " returned_by, created_at, facts, act_by, supervised)"
        " VALUES (:id, :id, '330502001000', 'open', 'no owner', '', now(),"
        " CAST(:facts AS jsonb), now(), false)"
    )
    engine = create_async_engine(async_url(url))
    disputes = {"critical": uuid.uuid4(), "normal": uuid.uuid4(), None: uuid.uuid4()}
    try:
        await asyncio.to_thread(upgrade, "routing", async_url(url), "routing_0016")
        async with engine.begin() as connection:
            for urgency, dispute_id in disputes.items():
                facts = json.dumps({} if urgency is None else {"urgency": urgency})
                await connection.execute(insert, {"id": dispute_id, "facts": facts})
        await asyncio.to_thread(upgrade, "routing", async_url(url), "head")
        async with engine.begin() as connection:
            rows = await connection.execute(text("SELECT id, working_clock FROM routing.disputes"))
            clocks: dict[uuid.UUID, bool] = {row.id: row.working_clock for row in rows}
        assert {u: clocks[d] for u, d in disputes.items()} == {
            "critical": False,
            "normal": True,
            None: True,
        }
    finally:
        await engine.dispose()


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


async def test_init_containers_wait_until_the_migration_job_reached_head(infra):
    """`liandong migrate --wait`: a service is behind on a fresh database and at an older
    revision, and no longer once migrated to head; the shared test database is at head."""
    from services.runtime.migrations import behind

    assert await behind(SERVICES, infra.async_database_url) == []
    url = async_url(await _create_database(infra.database_url))
    assert await behind(SERVICES, url) == list(SERVICES)
    await asyncio.to_thread(upgrade, "intake", url, "intake_0002")
    assert await behind(("intake",), url) == ["intake"]
    await asyncio.to_thread(upgrade, "intake", url)
    assert await behind(SERVICES, url) == ["classification", "routing", "feedback"]
