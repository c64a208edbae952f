"""Coordinators' reassignments and rulings on the real database become dispatch history: `liandong
model export-labelled --dispatch` writes them, and the department-type model's training reads
them back as (text, department type) rows."""

import csv
import io
import uuid
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from services.classification.routing_training import dispatch_history
from services.routing import service
from services.routing.history import COLUMNS, export_dispatch
from services.routing.models import Dispute
from tests.integration.test_returns_and_disputes import LISTS, T0, _classified

MARKET = "330502000000.market_regulation"
STREET = "330502002000.street_office"


async def _reassigned(sessions, outbox):
    """A noise complaint dispatched to urban management, reassigned to market regulation; its
    content holds a phone number."""
    event = _classified(uuid.uuid4()).model_copy(
        update={"content": "楼下烧烤店夜间噪音扰民，请回电13812345678"}
    )
    async with sessions() as session, session.begin():
        lead = await service.dispatch_demand(session, outbox, LISTS, event, now=T0)
    assert lead is not None
    async with sessions() as session, session.begin():
        await service.reassign_task(
            session,
            outbox,
            LISTS,
            lead.id,
            act=service.CoordinatorAct(
                coordinator_unit="330500000000", actor="coordinator:city", now=T0
            ),
            department_id=MARKET,
            citation=service.Citation(from_lists=True, reason="烧烤店经营噪声属市场监管"),
        )
    return event.demand_id


async def _ruled(sessions, outbox):
    """A neighbours' quarrel that nobody owns at the district: a dispute, ruled to a street."""
    event = _classified(uuid.uuid4()).model_copy(
        update={"matter_code": "CIVIL-NEIGHBOUR", "unit_code": "330502000000"}
    )
    async with sessions() as session, session.begin():
        assert await service.dispatch_demand(session, outbox, LISTS, event, now=T0) is None
    async with sessions() as session:
        dispute = await session.scalar(select(Dispute).where(Dispute.demand_id == event.demand_id))
    async with sessions() as session, session.begin():
        await service.rule_dispute(
            session,
            outbox,
            LISTS,
            dispute.id,
            act=service.CoordinatorAct(
                coordinator_unit="330502000000", actor="coordinator:wuxing", now=T0
            ),
            lead_department_id=STREET,
            co_handler_department_ids=["330502000000.urban_management"],
            citation=service.Citation(from_lists=True, reason="邻里纠纷由街道调处"),
        )
    return event.demand_id


async def _export(sessions, lists=LISTS):
    out = io.StringIO()
    async with sessions() as session:
        written, skipped = await export_dispatch(
            session, lists, out, since=T0 - timedelta(seconds=1)
        )
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert written == len(rows)
    return rows, skipped


async def test_reassignments_and_rulings_are_exported_and_learnt_as_department_types(
    sessions, outbox, tmp_path
):
    reassigned = await _reassigned(sessions, outbox)
    ruled = await _ruled(sessions, outbox)
    rows, _ = await _export(sessions)
    assert list(rows[0]) == list(COLUMNS)
    mine = {row["id"]: row for row in rows if row["id"] in (str(reassigned), str(ruled))}
    # One row per demand: the new lead only (not the withdrawn task, not the ruling's co-handler).
    assert sorted(mine) == sorted([str(reassigned), str(ruled)])
    moved, settled = mine[str(reassigned)], mine[str(ruled)]
    assert (moved["source"], moved["department_id"], moved["department_type"]) == (
        "reassignment",
        MARKET,
        "market_regulation",
    )
    assert moved["unit_code"] == "330502001016"
    assert "13812345678" not in moved["text"]
    assert moved["text"].endswith("请回电138****5678")
    assert (settled["source"], settled["department_type"], settled["unit_code"]) == (
        "ruling",
        "street_office",
        "330502000000",
    )

    # `make model` reads the file as training/dispatch-<date>.csv: each row a department type.
    path = tmp_path / "dispatch-2026-12.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows([moved, settled])
    history = dispatch_history(LISTS, [path])
    assert history.types == ["market_regulation", "street_office"]
    assert history.texts == [moved["text"], settled["text"]]
    assert history.skipped == {}


async def test_a_department_the_lists_no_longer_know_is_skipped_and_counted(sessions, outbox):
    reassigned = await _reassigned(sessions, outbox)
    without_market = replace(
        LISTS, departments=tuple(d for d in LISTS.departments if d.id != MARKET)
    )
    rows, skipped = await _export(sessions, without_market)
    assert str(reassigned) not in {row["id"] for row in rows}
    assert skipped["department unknown to the lists"] >= 1
