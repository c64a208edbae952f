"""The counters behind the three rates: updated with every fact, recomputable from all facts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.feedback import rates
from services.feedback.models import (
    EvaluationFact,
    PraiseFact,
    RateCounter,
    RedoFact,
    ReplyFact,
    TaskFact,
    WithdrawalFact,
)

# The deltas a transaction has added so far, merged, and written when it commits.
_PENDING = "feedback.rate_deltas"


async def add(
    session: AsyncSession,
    deltas: Mapping[rates.Key, int],
    *,
    department_name: str,
    unit_code: str,
) -> None:
    """Add the deltas of one fact, when the transaction commits. A transaction of many events
    (a consumer's batch) touches many departments' counters; written as each event came, two
    batches running side by side locked the same rows in opposite orders and deadlocked (found
    by `make chaos`: feedback fell minutes behind). Written once, merged and in key order, all
    take the rows' locks in one order, and only for the instant before their commit."""
    pending: dict[rates.Key, tuple[int, str, str]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = {}
        if not session.info.get("feedback.rate_listeners"):
            session.info["feedback.rate_listeners"] = True
            event.listen(session.sync_session, "before_commit", _write_pending)
            event.listen(session.sync_session, "after_rollback", _drop_pending)
    for key, value in deltas.items():
        if value:
            total = pending[key][0] if key in pending else 0
            pending[key] = (total + value, department_name, unit_code)


def _write_pending(session: Session) -> None:
    pending: dict[rates.Key, tuple[int, str, str]] = session.info.pop(_PENDING, None) or {}
    rows = [
        {
            "month": month,
            "department_id": department,
            "metric": metric,
            "department_name": name,
            "unit_code": unit,
            "value": value,
        }
        for (month, department, metric), (value, name, unit) in sorted(pending.items())
        if value
    ]
    if not rows:
        return
    statement = insert(RateCounter).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[RateCounter.month, RateCounter.department_id, RateCounter.metric],
            set_={"value": RateCounter.value + statement.excluded.value},
        )
    )


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


async def stored(session: AsyncSession) -> Counter[rates.Key]:
    """Every counter as kept."""
    rows = await session.execute(
        select(RateCounter.month, RateCounter.department_id, RateCounter.metric, RateCounter.value)
    )
    return Counter({(m, d, k): v for m, d, k, v in rows if v})


# Each kind of stored fact and the counters it adds (the same functions the live handlers use).
_FACT_COUNTS: tuple[tuple[Any, Callable[[Any, ZoneInfo], Counter[rates.Key]]], ...] = (
    (TaskFact, rates.task_counts),
    (ReplyFact, rates.reply_counts),
    (EvaluationFact, rates.evaluation_counts),
    (RedoFact, rates.redo_counts),
    (PraiseFact, rates.praise_counts),
    (WithdrawalFact, rates.withdrawal_counts),
)


async def from_facts(
    session: AsyncSession, zone: ZoneInfo
) -> tuple[Counter[rates.Key], dict[str, tuple[str, str]]]:
    """Every counter recomputed from the stored facts, and each department's (name, unit)."""
    total: Counter[rates.Key] = Counter()
    departments: dict[str, tuple[str, str]] = {}
    for model, counts in _FACT_COUNTS:
        async for fact in await session.stream_scalars(
            select(model).execution_options(yield_per=2000)
        ):
            total.update(counts(fact, zone))
            departments[fact.department_id] = (fact.department_name, fact.unit_code)
    return Counter({k: v for k, v in total.items() if v}), departments


async def recompute(session: AsyncSession, zone: ZoneInfo) -> int:
    """Replace every counter by its value recomputed from the facts; returns the rows written.
    The table lock holds the consumer's updates back until the new counters are committed."""
    await session.execute(text("LOCK TABLE feedback.rate_counters IN EXCLUSIVE MODE"))
    total, departments = await from_facts(session, zone)
    await session.execute(delete(RateCounter))
    grouped: dict[str, dict[rates.Key, int]] = {}
    for key, value in total.items():
        grouped.setdefault(key[1], {})[key] = value
    for department, deltas in grouped.items():
        name, unit = departments[department]
        await add(session, deltas, department_name=name, unit_code=unit)
    return len(total)
