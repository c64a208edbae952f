"""League tables of the three rates and hot spots (每月一题 candidates), for coordinators.

A coordinator reads its own unit and everything beneath it; the city's coordinator reads all.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import AfterValidator

from contracts.jurisdiction import Level, UnitCode, level_of
from contracts.lists import Lists
from services.feedback import rates
from services.feedback.repository import facts
from services.feedback.schemas import (
    Figures,
    HotSpotOut,
    HotSpots,
    MonthFigures,
    Ranking,
    RankingRow,
    RatesByMonth,
)
from services.feedback.service import league_tables
from services.runtime.auth import CoordinatorDep, CoordinatorPrincipal
from services.runtime.http import RuntimeDep, Unprocessable

router = APIRouter(tags=["rankings"])

LEVELS = (Level.city, Level.district, Level.street, Level.community)
Month = Annotated[
    Annotated[str, AfterValidator(rates.check_month)] | None,
    Query(
        description=f"YYYY-MM in the city's time, a year from {rates.FIRST_YEAR} to "
        f"{rates.LAST_YEAR} (default: this month)",
        examples=["2026-11"],
        max_length=7,
    ),
]


def _scope(lists: Lists, reader: CoordinatorPrincipal, unit: str | None) -> str:
    """The unit whose subtree is read: the one asked for, within the reader's jurisdiction."""
    scope = unit or reader.unit_code
    if scope not in lists.units_by_code:
        raise Unprocessable("query.unit", f"no unit {scope} in the lists {lists.version}")
    if not rates.within(scope, reader.unit_code):
        raise HTTPException(403, f"unit {scope} is outside your jurisdiction")
    return scope


def _hotspots_out(lists: Lists, spots: list[rates.HotSpot]) -> list[HotSpotOut]:
    matters = lists.matters_by_code
    return [
        HotSpotOut(
            matter_code=s.matter_code,
            matter_name=matters[s.matter_code].name if s.matter_code in matters else s.matter_code,
            count=s.count,
            previous=s.previous,
            growth=s.growth,
        )
        for s in spots
    ]


@router.get(
    "/v1/rankings",
    response_model=Ranking,
    summary="League table of a month: units of a level (with their subtrees), or departments",
    responses={403: {"description": "not a coordinator, or outside its jurisdiction"}},
)
async def rankings(
    runtime: RuntimeDep,
    reader: CoordinatorDep,
    month: Month = None,
    by: Annotated[
        Literal["unit", "department"], Query(description="rank units or departments")
    ] = "unit",
    level: Annotated[
        Level | None,
        Query(description="units of this level (by=unit, default street); departments at it"),
    ] = None,
    unit: Annotated[
        UnitCode | None, Query(description="rank only at and beneath this unit (default: yours)")
    ] = None,
    sort: Annotated[
        Literal["satisfaction_rate", "resolution_rate", "response_rate", "on_time_reply_rate"],
        Query(description="the rate ranked first; the three rates break ties"),
    ] = "satisfaction_rate",
    hotspots: Annotated[int, Query(ge=0, le=20, description="hot spots per unit")] = 3,
) -> Ranking:
    lists = runtime.lists
    scope = _scope(lists, reader, unit)
    month = month or rates.month_of(runtime.clock.now(), lists.calendar.zone)
    if level is Level.province:
        raise Unprocessable("level", "rankings go from the city down")
    if by == "unit":
        level = level or Level.street
        if LEVELS.index(level) < LEVELS.index(level_of(scope)):
            raise Unprocessable("level", f"{level.value} lies above the unit {scope}")
    async with runtime.sessions() as session:
        counted = await facts.counters_of_month(session, month)
        # Hot spots are the one use of the demand counts: none asked, none counted.
        demand_rows = (
            await league_tables.demand_counts(session, lists, month, scope=scope, level=level)
            if by == "unit" and hotspots
            else ([], [])
        )
    if by == "department":
        ranked = league_tables.rank_departments(counted, scope, level)
    else:
        assert level is not None
        ranked = league_tables.rank_units(
            lists, counted, demand_rows, scope=scope, level=level, hotspots=hotspots
        )
    rows = [
        RankingRow(
            rank=n,
            unit_code=row.unit_code,
            name=row.name,
            department_id=row.department_id,
            figures=Figures.of(row.figures),
            hotspots=_hotspots_out(lists, row.hotspots),
        )
        for n, row in enumerate(league_tables.in_order(ranked, sort), start=1)
    ]
    return Ranking(month=month, by=by, level=level, within=scope, sort=sort, rows=rows)


@router.get(
    "/v1/rates",
    response_model=RatesByMonth,
    summary="The rates of a unit with its whole subtree, month by month (the leaders' trend)",
    responses={403: {"description": "not a coordinator, or outside its jurisdiction"}},
)
async def rates_by_month(
    runtime: RuntimeDep,
    reader: CoordinatorDep,
    unit: Annotated[
        UnitCode | None, Query(description="12-digit unit code (default: yours)")
    ] = None,
    until: Month = None,
    months: Annotated[int, Query(ge=1, le=24, description="how many months up to `until`")] = 6,
) -> RatesByMonth:
    lists = runtime.lists
    scope = _scope(lists, reader, unit)
    last = until or rates.month_of(runtime.clock.now(), lists.calendar.zone)
    wanted = [last]
    while len(wanted) < months:
        wanted.append(rates.previous_month(wanted[-1]))
    wanted.reverse()
    async with runtime.sessions() as session:
        summed = await facts.counters_by_month(session, rates.subtree_prefix(scope), wanted)
    counts: dict[str, dict[str, int]] = {m: {} for m in wanted}
    for month, metric, value in summed:
        counts[month][metric] = value
    return RatesByMonth(
        unit_code=scope,
        name=lists.units_by_code[scope].name,
        months=[
            MonthFigures(month=m, figures=Figures.of(rates.Figures(counts[m]))) for m in wanted
        ],
    )


@router.get(
    "/v1/hotspots",
    response_model=HotSpots,
    summary="每月一题 candidates: the matters that grew most at and beneath a unit",
    responses={403: {"description": "not a coordinator, or outside its jurisdiction"}},
)
async def hotspots(
    runtime: RuntimeDep,
    reader: CoordinatorDep,
    unit: Annotated[
        UnitCode | None, Query(description="12-digit unit code (default: yours)")
    ] = None,
    month: Month = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> HotSpots:
    lists = runtime.lists
    scope = _scope(lists, reader, unit)
    month = month or rates.month_of(runtime.clock.now(), lists.calendar.zone)
    async with runtime.sessions() as session:
        current, previous = await league_tables.demand_counts(
            session, lists, month, scope=scope, level=level_of(scope)
        )
    spots = rates.hot_spots(current, previous, scope, limit=limit)
    return HotSpots(
        unit_code=scope,
        name=lists.units_by_code[scope].name,
        month=month,
        hotspots=_hotspots_out(lists, spots),
    )
