"""The three rates (三率) and their companions: what each fact counts, and the arithmetic.

Every count belongs to a month (in the city's time zone), a department and a metric. What a
fact contributes is decided here and only here, by `task_counts`, `reply_counts`,
`evaluation_counts` and `redo_counts`; the consumer applies the difference a change makes,
and a recompute sums the same functions over every stored fact, so both give the same
figures by construction.
The definitions are written out in docs/services/feedback.md, section "Three rates".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from contracts.events import Satisfaction
from contracts.jurisdiction import Level, level_of

# Metrics (the counters' names).
ASSIGNED = "assigned"
RESPONDED_ON_TIME = "responded_on_time"
RETURNED = "returned"
REPLIED = "replied"
REPLIED_ON_TIME = "replied_on_time"
EVALUATED = "evaluated"
RESOLVED = "resolved"
SATISFIED = "satisfied"  # satisfied or basically satisfied
REDO = "redo"
NOT_EVALUATED = "not_evaluated"
# 表扬: praise passed on at the desk. Counted per department and month as the 12345 rules
# count it, a plus apart from the three rates: it enters no rate's numerator or denominator.
PRAISED = "praised"
# 撤诉: a routed demand its citizen withdrew, for its lead department; in no rate either.
WITHDRAWN = "withdrawn"
METRICS = (
    ASSIGNED,
    RESPONDED_ON_TIME,
    RETURNED,
    REPLIED,
    REPLIED_ON_TIME,
    EVALUATED,
    RESOLVED,
    SATISFIED,
    REDO,
    NOT_EVALUATED,
    PRAISED,
    WITHDRAWN,
)

# The counts one fact adds: (month, department id, metric) -> n.
Key = tuple[str, str, str]


class TaskLike(Protocol):
    department_id: str
    assigned_at: datetime
    sign_due_at: datetime
    signed_at: datetime | None
    returned_at: datetime | None
    withdrawn_at: datetime | None


class ReplyLike(Protocol):
    department_id: str
    replied_at: datetime
    reply_due_at: datetime


class RedoLike(Protocol):
    department_id: str
    requested_at: datetime


class EvaluationLike(Protocol):
    department_id: str
    occurred_at: datetime
    outcome: str
    resolved: bool | None
    satisfaction: str | None


_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")  # ASCII digits, the whole string
FIRST_YEAR, LAST_YEAR = 2000, 2100
"""The years a month may name: its bounds and the month before are then real dates."""


def check_month(month: str) -> str:
    """The month if it is `YYYY-MM` of a year in FIRST_YEAR..LAST_YEAR, else ValueError."""
    match = _MONTH.fullmatch(month)
    if match is None:
        raise ValueError("a month is YYYY-MM, e.g. 2026-11")
    if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise ValueError(f"the year of a month lies between {FIRST_YEAR} and {LAST_YEAR}")
    return month


def month_of(moment: datetime, zone: ZoneInfo) -> str:
    """`2026-11`: the month of a moment in the city's time zone."""
    return moment.astimezone(zone).strftime("%Y-%m")


def task_counts(task: TaskLike, zone: ZoneInfo) -> Counter[Key]:
    """A task counts in the month it was assigned: assigned; responded on time when signed or
    returned by its sign deadline; returned. A task withdrawn unsigned before its sign deadline
    (reassigned, or its co-handler department became the lead) is not counted at all."""
    if (
        task.withdrawn_at is not None
        and task.signed_at is None
        and task.returned_at is None
        and task.withdrawn_at <= task.sign_due_at
    ):
        return Counter()
    month = month_of(task.assigned_at, zone)
    counts: Counter[Key] = Counter({(month, task.department_id, ASSIGNED): 1})
    answered = [t for t in (task.signed_at, task.returned_at) if t is not None]
    if answered and min(answered) <= task.sign_due_at:
        counts[(month, task.department_id, RESPONDED_ON_TIME)] = 1
    if task.returned_at is not None:
        counts[(month, task.department_id, RETURNED)] = 1
    return counts


def reply_counts(reply: ReplyLike, zone: ZoneInfo) -> Counter[Key]:
    """A reply counts in the month it was given; on time when by the task's reply deadline
    then in force (after approved extensions)."""
    month = month_of(reply.replied_at, zone)
    counts: Counter[Key] = Counter({(month, reply.department_id, REPLIED): 1})
    if reply.replied_at <= reply.reply_due_at:
        counts[(month, reply.department_id, REPLIED_ON_TIME)] = 1
    return counts


def evaluation_counts(evaluation: EvaluationLike, zone: ZoneInfo) -> Counter[Key]:
    """An evaluation counts in the month it was given, for the department whose reply it
    rates; a callback closed unanswered counts only as not evaluated."""
    month = month_of(evaluation.occurred_at, zone)
    department = evaluation.department_id
    if evaluation.outcome == NOT_EVALUATED:
        return Counter({(month, department, NOT_EVALUATED): 1})
    counts: Counter[Key] = Counter({(month, department, EVALUATED): 1})
    if evaluation.resolved:
        counts[(month, department, RESOLVED)] = 1
    if evaluation.satisfaction in (Satisfaction.satisfied, Satisfaction.basically_satisfied):
        counts[(month, department, SATISFIED)] = 1
    return counts


def redo_counts(redo: RedoLike, zone: ZoneInfo) -> Counter[Key]:
    """A redo (重办: routing sent the task back after an unresolved or dissatisfied evaluation)
    counts in the month it was requested, for the lead department."""
    return Counter({(month_of(redo.requested_at, zone), redo.department_id, REDO): 1})


class PraiseLike(Protocol):
    department_id: str
    praised_at: datetime


def praise_counts(praise: PraiseLike, zone: ZoneInfo) -> Counter[Key]:
    """Praise counts in the month it was passed on, for the praised department."""
    return Counter({(month_of(praise.praised_at, zone), praise.department_id, PRAISED): 1})


class WithdrawalLike(Protocol):
    department_id: str
    withdrawn_at: datetime


def withdrawal_counts(withdrawal: WithdrawalLike, zone: ZoneInfo) -> Counter[Key]:
    """A withdrawal counts in the month the citizen withdrew, for the lead department."""
    month = month_of(withdrawal.withdrawn_at, zone)
    return Counter({(month, withdrawal.department_id, WITHDRAWN): 1})


def difference(after: Counter[Key], before: Counter[Key]) -> dict[Key, int]:
    """What to add to the counters when a fact's counts change from `before` to `after`."""
    keys = set(after) | set(before)
    return {k: after[k] - before[k] for k in sorted(keys) if after[k] != before[k]}


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


@dataclass(frozen=True, slots=True)
class Figures:
    """The counts of one scope (a department, or a unit with its subtree) for one month."""

    counts: Mapping[str, int]

    def __getitem__(self, metric: str) -> int:
        return self.counts.get(metric, 0)

    @property
    def response_rate(self) -> float | None:
        return _rate(self[RESPONDED_ON_TIME], self[ASSIGNED])

    @property
    def return_rate(self) -> float | None:
        return _rate(self[RETURNED], self[ASSIGNED])

    @property
    def on_time_reply_rate(self) -> float | None:
        return _rate(self[REPLIED_ON_TIME], self[REPLIED])

    @property
    def resolution_rate(self) -> float | None:
        return _rate(self[RESOLVED], self[EVALUATED])

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self[SATISFIED], self[EVALUATED])

    @property
    def redo_rate(self) -> float | None:
        return _rate(self[REDO], self[EVALUATED])

    def rates(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in RATES}

    def as_dict(self) -> dict[str, int | float | None]:
        return {**{m: self[m] for m in METRICS}, **self.rates()}


RATES = (
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "on_time_reply_rate",
    "return_rate",
    "redo_rate",
)


# How many leading digits a unit shares with everything beneath it, by its level (not by
# zeros: street 330502010000 must not take in 330502011000).
PREFIX_LENGTH = {
    Level.province: 2,
    Level.city: 4,
    Level.district: 6,
    Level.street: 9,
    Level.community: 12,
}


def subtree_prefix(unit_code: str) -> str:
    """The code prefix shared by a unit and every unit beneath it."""
    return unit_code[: PREFIX_LENGTH[level_of(unit_code)]]


def within(unit_code: str, ancestor: str) -> bool:
    """True when `unit_code` is `ancestor` or lies beneath it."""
    return unit_code.startswith(subtree_prefix(ancestor))


def rollup(by_unit: Mapping[str, Mapping[str, int]], unit_code: str) -> Figures:
    """The figures of a unit with its whole subtree, from counts per department unit."""
    total: Counter[str] = Counter()
    prefix = subtree_prefix(unit_code)
    for code, counts in by_unit.items():
        if code.startswith(prefix):
            total.update(counts)
    return Figures(dict(total))


SORTABLE = ("satisfaction_rate", "resolution_rate", "response_rate", "on_time_reply_rate")


def rank_order(figures: Figures, sort: str) -> tuple[float, ...]:
    """Sort key of a league table: the chosen rate first, then the three rates; a scope with no
    figure for a rate goes below every scope that has one. Smaller sorts first."""
    keys = [sort, *(r for r in SORTABLE if r != sort)]
    values: list[float] = []
    for name in keys:
        value = getattr(figures, name)
        values.extend((0.0, -value) if value is not None else (1.0, 0.0))
    return tuple(values)


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The first instant of a month (`2026-11`) and of the next, in the city's time zone."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=zone)
    following = date(year + number // 12, number % 12 + 1, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=zone)


def previous_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


@dataclass(frozen=True, slots=True)
class HotSpot:
    matter_code: str
    count: int
    previous: int

    @property
    def growth(self) -> int:
        return self.count - self.previous


def hot_spots(
    current: Iterable[tuple[str, str, int]],
    previous: Iterable[tuple[str, str, int]],
    unit_code: str,
    *,
    limit: int,
) -> list[HotSpot]:
    """每月一题 candidates: the matters whose demands in the unit's subtree grew most over the
    previous month; rows are (demand unit code, matter code, demands). Ties go to the matter
    with more demands, then to its code."""
    prefix = subtree_prefix(unit_code)
    now: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for rows, into in ((current, now), (previous, before)):
        for code, matter, count in rows:
            if code.startswith(prefix):
                into[matter] += count
    spots = [HotSpot(m, now[m], before[m]) for m in now if now[m] > before[m]]
    spots.sort(key=lambda s: (-s.growth, -s.count, s.matter_code))
    return spots[:limit]
