"""The counters behind the three rates: updated with every fact, recomputable from all facts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
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


async def from_facts(
    session: AsyncSession, zone: ZoneInfo
) -> tuple[Counter[rates.Key], dict[str, tuple[str, str]]]:
    """Every counter recomputed from the stored facts, and each department's (name, unit)."""
    total: Counter[rates.Key] = Counter()
    departments: dict[str, tuple[str, str]] = {}
    async for task in await session.stream_scalars(
        select(TaskFact).execution_options(yield_per=2000)
    ):
        total.update(rates.task_counts(task, zone))
        departments[task.department_id] = (task.department_name, task.unit_code)
    async for reply in await session.stream_scalars(
        select(ReplyFact).execution_options(yield_per=2000)
    ):
        total.update(rates.reply_counts(reply, zone))
        departments[reply.department_id] = (reply.department_name, reply.unit_code)
    async for evaluation in await session.stream_scalars(
        select(EvaluationFact).execution_options(yield_per=2000)
    ):
        total.update(rates.evaluation_counts(evaluation, zone))
        departments[evaluation.department_id] = (evaluation.department_name, evaluation.unit_code)
    async for redo in await session.stream_scalars(
        select(RedoFact).execution_options(yield_per=2000)
    ):
        total.update(rates.redo_counts(redo, zone))
        departments[redo.department_id] = (redo.department_name, redo.unit_code)
    async for praise in await session.stream_scalars(
        select(PraiseFact).execution_options(yield_per=2000)
    ):
        total.update(rates.praise_counts(praise, zone))
        departments[praise.department_id] = (praise.department_name, praise.unit_code)
    async for withdrawal in await session.stream_scalars(
        select(WithdrawalFact).execution_options(yield_per=2000)
    ):
        total.update(rates.withdrawal_counts(withdrawal, zone))
        departments[withdrawal.department_id] = (withdrawal.department_name, withdrawal.unit_code)
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
