"""The business calendar's files: working hours in lists.yaml, holidays in holidays*.csv."""

from __future__ import annotations

import csv
import re
from datetime import date, time
from pathlib import Path
from typing import Any

from contracts.lists.calendar import BusinessCalendar, WorkingPeriod
from contracts.lists.loader.files import LINE, Collector, text


def read_holidays(path: Path) -> tuple[set[date], set[date], set[int]]:
    """Holidays, adjusted working days and the years the file publishes."""
    holidays: set[date] = set()
    workdays: set[date] = set()
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            day = date.fromisoformat(row["date"])
            if row["type"] == "holiday":
                holidays.add(day)
            elif row["type"] == "adjusted_workday":
                workdays.add(day)
            else:
                raise ValueError(f"{path.name}: unknown day type {row['type']!r} on {row['date']}")
    return holidays, workdays, {d.year for d in holidays | workdays}


def load_calendar(c: Collector, manifest: dict[str, Any]) -> BusinessCalendar | None:
    periods = _working_periods(c, manifest)
    holidays, workdays, years = _holidays(c)
    timezone = text(manifest, "timezone") or "Asia/Shanghai"
    try:
        return BusinessCalendar(
            timezone=timezone,
            working_periods=periods or [WorkingPeriod(time(9), time(17))],
            holidays=holidays,
            adjusted_workdays=workdays,
            published_years=years,
        )
    except Exception as exc:
        c.add("lists.yaml", manifest.get(LINE), f"timezone {timezone!r}: {exc}")
        return None


def _working_periods(c: Collector, manifest: dict[str, Any]) -> list[WorkingPeriod]:
    periods: list[WorkingPeriod] = []
    for text_ in manifest.get("working_hours", []) or []:
        match = re.fullmatch(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})", str(text_))
        if not match:
            c.add("lists.yaml", manifest.get(LINE), f"working period {text_!r} is not HH:MM-HH:MM")
            continue
        h1, m1, h2, m2 = map(int, match.groups())
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError:
            c.add(
                "lists.yaml", manifest.get(LINE), f"working period {text_!r} is not a time of day"
            )
            continue
        if start >= end:
            c.add(
                "lists.yaml", manifest.get(LINE), f"working period {text_!r} ends before it starts"
            )
        periods.append(WorkingPeriod(start, end))
    if not periods:
        c.add(
            "lists.yaml",
            manifest.get(LINE),
            "'working_hours' needs at least one HH:MM-HH:MM period",
        )
    return periods


def _holidays(c: Collector) -> tuple[set[date], set[date], set[int]]:
    holidays: set[date] = set()
    workdays: set[date] = set()
    years: set[int] = set()
    files = sorted(c.root.glob("holidays*.csv"))
    if not files:
        c.add("holidays.csv", None, "file is missing (public holidays and adjusted working days)")
    for path in files:
        try:
            h, w, y = read_holidays(path)
        except (ValueError, KeyError) as exc:
            c.add(path.name, None, f"cannot read: {exc}")
            continue
        holidays |= h
        workdays |= w
        years |= y
    both = holidays & workdays
    if both:
        c.add("holidays.csv", None, f"days both holiday and working day: {sorted(map(str, both))}")
    return holidays, workdays, years
