"""League tables of the three rates and hot spots (每月一题 candidates), for coordinators.

Unit figures are those of the departments at the unit and beneath it; hot spots count demands
by the place they arose (the unit `demand.classified` named)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.jurisdiction import Level, level_of
from contracts.lists import Lists
from services.feedback import rates
from services.feedback.repository import facts

# (unit code, matter code, demands) of one month.
DemandRows = list[tuple[str, str, int]]
# (department id, name, unit code, metric, value) of every counter of one month.
CounterRows = list[tuple[str, str, str, str, int]]


@dataclass(frozen=True, slots=True)
class Ranked:
    """One row of a league table before its rank is known."""

    unit_code: str
    name: str
    figures: rates.Figures
    department_id: str | None = None
    hotspots: list[rates.HotSpot] = field(default_factory=list)


async def demand_counts(
    session: AsyncSession, lists: Lists, month: str, *, scope: str = "", level: Level | None = None
) -> tuple[DemandRows, DemandRows]:
    """Demands per (unit, matter) in the month and in the month before, at and beneath `scope`,
    counted per unit of `level` (its code's prefix stands for the unit; default: communities)."""
    zone = lists.calendar.zone
    start, end = rates.month_bounds(month, zone)
    before, _ = rates.month_bounds(rates.previous_month(month), zone)
    rows = await facts.demands_by_unit_and_matter(
        session,
        before=before,
        start=start,
        end=end,
        within=rates.subtree_prefix(scope) if scope else "",
        code_length=rates.PREFIX_LENGTH[level or Level.community],
    )
    now_rows: DemandRows = []
    before_rows: DemandRows = []
    for unit_code, matter, is_current, count in rows:
        (now_rows if is_current else before_rows).append((unit_code, matter, count))
    return now_rows, before_rows


def rank_departments(counted: CounterRows, scope: str, level: Level | None) -> list[Ranked]:
    """The departments at and beneath `scope` (only those at `level`, when given)."""
    per_department: dict[str, dict[str, int]] = defaultdict(dict)
    about: dict[str, tuple[str, str]] = {}
    for department, name, unit_code, metric, value in counted:
        if rates.within(unit_code, scope) and (level is None or level_of(unit_code) is level):
            per_department[department][metric] = value
            about[department] = (name, unit_code)
    ranked = []
    for department, counts in per_department.items():
        name, unit_code = about[department]
        ranked.append(Ranked(unit_code, name, rates.Figures(counts), department_id=department))
    return ranked


def rank_units(
    lists: Lists,
    counted: CounterRows,
    demand_rows: tuple[DemandRows, DemandRows],
    *,
    scope: str,
    level: Level,
    hotspots: int,
) -> list[Ranked]:
    """The units of `level` at and beneath `scope`, each with its subtree's figures and hot
    spots."""
    # Everything grouped once by the ranked unit it lies beneath (its code's prefix).
    length = rates.PREFIX_LENGTH[level]
    by_unit: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for _department, _name, unit_code, metric, value in counted:
        by_unit[unit_code[:length]][metric] += value
    current: dict[str, DemandRows] = defaultdict(list)
    previous: dict[str, DemandRows] = defaultdict(list)
    for grouped, found in zip((current, previous), demand_rows, strict=True):
        for row in found:
            grouped[row[0][:length]].append(row)
    ranked = []
    for listed in lists.units:
        if listed.level is not level or not rates.within(listed.code, scope):
            continue
        prefix = listed.code[:length]
        spots = rates.hot_spots(
            current.get(prefix, []), previous.get(prefix, []), listed.code, limit=hotspots
        )
        figures = rates.Figures(dict(by_unit.get(prefix, {})))
        ranked.append(Ranked(listed.code, listed.name, figures, hotspots=spots))
    return ranked


def in_order(ranked: list[Ranked], sort: str) -> list[Ranked]:
    """Best first by `sort` (the three rates break ties), then by unit and department."""
    return sorted(
        ranked,
        key=lambda row: (
            rates.rank_order(row.figures, sort),
            row.unit_code,
            row.department_id or "",
        ),
    )
