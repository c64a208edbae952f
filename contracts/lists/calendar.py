"""Business calendar: working hours, Chinese public holidays and adjusted working days, and
deadline arithmetic in the city's time zone (results in UTC).

Holidays come from the lists' holiday files (State Council notices, one row per date). Past the
published years the calendar falls back to plain weekdays and flags the deadline provisional:
it never refuses to compute one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LimitUnit(StrEnum):
    working_hours = "working_hours"
    working_days = "working_days"
    calendar_hours = "calendar_hours"


# ASCII digits (`\d` takes full-width ones, which float() reads); matched against the whole text.
_LIMIT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s+(working_hours|working_days|calendar_hours)\s*")


@dataclass(frozen=True, slots=True)
class TimeLimit:
    """A stage's time limit, e.g. `2 working_hours`, `5 working_days`, `24 calendar_hours`."""

    amount: float
    unit: LimitUnit

    @classmethod
    def parse(cls, text: str) -> TimeLimit:
        match = _LIMIT.fullmatch(text)
        if match is None:
            raise ValueError(
                f"time limit {text!r} is not '<number> working_hours|working_days|calendar_hours'"
            )
        amount = float(match.group(1))
        if amount <= 0:
            raise ValueError(f"time limit {text!r} must be positive")
        unit = LimitUnit(match.group(2))
        if unit is LimitUnit.working_days and amount != int(amount):
            raise ValueError(f"time limit {text!r}: working days are whole days")
        return cls(amount, unit)

    def __str__(self) -> str:
        amount = int(self.amount) if self.amount == int(self.amount) else self.amount
        return f"{amount} {self.unit.value}"


@dataclass(frozen=True, slots=True)
class Deadline:
    at: datetime  # UTC
    provisional: bool  # computed past the published holiday data


@dataclass(frozen=True, slots=True)
class WorkingPeriod:
    start: time
    end: time


def _remembered(memo: dict[K, V], key: K, compute: Callable[[], V]) -> V:
    """The memo's answer for the key, computed once; the memo is emptied at 4,096 answers."""
    value = memo.get(key)
    if value is None:
        if len(memo) >= 4096:
            memo.clear()
        value = memo[key] = compute()
    return value


class BusinessCalendar:
    def __init__(
        self,
        *,
        timezone: str,
        working_periods: list[WorkingPeriod],
        holidays: set[date],
        adjusted_workdays: set[date],
        published_years: set[int],
    ) -> None:
        if not working_periods:
            raise ValueError("a business calendar needs at least one working period")
        self.zone = ZoneInfo(timezone)
        self.periods = sorted(working_periods, key=lambda p: p.start)
        self.holidays = holidays
        self.adjusted_workdays = adjusted_workdays
        self.published_years = published_years
        # Deadlines are pure functions of (start, limit) and a batch of demands shares its
        # start: remembered, up to a bound.
        self._memo: dict[tuple[datetime, TimeLimit], Deadline] = {}
        self._shares: dict[tuple[datetime, datetime, float], datetime] = {}

    def is_published(self, day: date) -> bool:
        return day.year in self.published_years

    def is_working_day(self, day: date) -> bool:
        if day in self.adjusted_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add(self, start: datetime, limit: TimeLimit) -> Deadline:
        if start.tzinfo is None:
            raise ValueError("deadlines start from an aware datetime")
        return _remembered(self._memo, (start, limit), lambda: self._add(start, limit))

    def _add(self, start: datetime, limit: TimeLimit) -> Deadline:
        if limit.unit is LimitUnit.calendar_hours:
            at = start.astimezone(UTC) + timedelta(hours=limit.amount)
            return Deadline(at, provisional=False)
        local = start.astimezone(self.zone)
        if limit.unit is LimitUnit.working_hours:
            end, days = self._add_working_time(local, timedelta(hours=limit.amount))
        else:
            end, days = self._add_working_days(local, int(limit.amount))
        provisional = any(not self.is_published(d) for d in days)
        return Deadline(end.astimezone(UTC), provisional)

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """The working time from start to end (none if end is not later)."""
        local, stop = start.astimezone(self.zone), end.astimezone(self.zone)
        total = timedelta(0)
        day = local.date()
        while day <= stop.date():
            if self.is_working_day(day):
                for period_start, period_end in self._periods_of(day):
                    overlap = min(period_end, stop) - max(period_start, local)
                    if overlap > timedelta(0):
                        total += overlap
            day += timedelta(days=1)
        return total

    def at_working_share(self, start: datetime, end: datetime, share: float) -> datetime:
        """When `share` of the working time from start to end has passed: a reminder of a
        window set in working time falls in working time (2 working hours from Friday 17:00 end
        on Monday 10:00, the day ending at 17:30; four fifths of them have passed at 09:36 on
        Monday, not on Sunday night). A window with no working time in it is shared by the
        clock."""
        return _remembered(
            self._shares, (start, end, share), lambda: self._at_working_share(start, end, share)
        )

    def _at_working_share(self, start: datetime, end: datetime, share: float) -> datetime:
        working = self.working_time(start, end)
        if working <= timedelta(0):
            return start + (end - start) * share
        local, _ = self._add_working_time(start.astimezone(self.zone), working * share)
        return local.astimezone(UTC)

    def _periods_of(self, day: date) -> list[tuple[datetime, datetime]]:
        return [
            (datetime.combine(day, p.start, self.zone), datetime.combine(day, p.end, self.zone))
            for p in self.periods
        ]

    def _add_working_time(
        self, local: datetime, remaining: timedelta
    ) -> tuple[datetime, list[date]]:
        day = local.date()
        seen: list[date] = []
        cursor = local
        for _ in range(3660):  # ten years of days: a calendar with no working day is a bug
            seen.append(day)
            if self.is_working_day(day):
                for start, end in self._periods_of(day):
                    if cursor >= end:
                        continue
                    begin = max(cursor, start)
                    available = end - begin
                    if remaining <= available:
                        return begin + remaining, seen
                    remaining -= available
                    cursor = end
            day += timedelta(days=1)
            cursor = datetime.combine(day, time.min, self.zone)
        raise RuntimeError("no working time found within ten years")

    def _add_working_days(self, local: datetime, days: int) -> tuple[datetime, list[date]]:
        # Start inside working time: a demand received at night counts from the next morning.
        start, seen = self._add_working_time(local, timedelta(0))
        day = start.date()
        counted = 0
        for _ in range(3660):
            day += timedelta(days=1)
            seen.append(day)
            if self.is_working_day(day):
                counted += 1
                if counted == days:
                    return datetime.combine(
                        day, start.timetz().replace(tzinfo=None), self.zone
                    ), seen
        raise RuntimeError("no working day found within ten years")
