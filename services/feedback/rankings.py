"""League tables of the three rates and hot spots (每月一题 candidates), for coordinators.

A coordinator reads its own unit and everything beneath it; the city's coordinator reads all.
Unit figures are those of the departments at the unit and beneath it; hot spots count demands
by the place they arose (the unit `demand.classified` named).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.jurisdiction import Level, UnitCode, level_of
from contracts.lists import Lists
from services.feedback import rates
from services.feedback.models import DemandFact, RateCounter
from services.runtime.auth import CurrentPrincipal, Principal, Role
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


class Figures(BaseModel):
    assigned: int = Field(description="tasks assigned in the month")
    responded_on_time: int = Field(description="of those, signed or returned by the sign limit")
    returned: int
    replied: int = Field(description="replies given in the month")
    replied_on_time: int
    evaluated: int = Field(description="evaluations given in the month")
    resolved: int
    satisfied: int = Field(description="satisfied or basically satisfied")
    redo: int = Field(description="tasks sent back for a redo (重办) in the month")
    not_evaluated: int = Field(description="callbacks closed unanswered (counted apart)")
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    on_time_reply_rate: float | None
    return_rate: float | None
    redo_rate: float | None

    @classmethod
    def of(cls, figures: rates.Figures) -> Figures:
        return cls.model_validate(figures.as_dict())


class HotSpotOut(BaseModel):
    matter_code: str
    matter_name: str
    count: int = Field(description="demands in the month")
    previous: int = Field(description="demands in the month before")
    growth: int


class RankingRow(BaseModel):
    rank: int
    unit_code: str
    name: str
    department_id: str | None = None
    figures: Figures
    hotspots: list[HotSpotOut] = Field(default_factory=list)


class Ranking(BaseModel):
    month: str
    by: Literal["unit", "department"]
    level: Level | None
    within: str
    sort: str
    rows: list[RankingRow]


class HotSpots(BaseModel):
    unit_code: str
    name: str
    month: str
    hotspots: list[HotSpotOut]


def reader_of(principal: CurrentPrincipal) -> Principal:
    if principal.role is not Role.coordinator or principal.unit_code is None:
        raise HTTPException(403, "rankings are for coordinator credentials")
    return principal


Reader = Annotated[Principal, Depends(reader_of)]


def _scope(lists: Lists, reader: Principal, unit: str | None) -> str:
    """The unit whose subtree is read: the one asked for, within the reader's jurisdiction."""
    assert reader.unit_code is not None
    scope = unit or reader.unit_code
    if scope not in lists.units_by_code:
        raise Unprocessable("query.unit", f"no unit {scope} in the lists {lists.version}")
    if not rates.within(scope, reader.unit_code):
        raise HTTPException(403, f"unit {scope} is outside your jurisdiction")
    return scope


async def counts_by(session: AsyncSession, month: str) -> list[tuple[str, str, str, str, int]]:
    """(department id, name, unit code, metric, value) of every counter of the month."""
    rows = await session.execute(
        select(
            RateCounter.department_id,
            RateCounter.department_name,
            RateCounter.unit_code,
            RateCounter.metric,
            RateCounter.value,
        ).where(RateCounter.month == month)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def demand_counts(
    session: AsyncSession, lists: Lists, month: str
) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
    """Demands per (unit, matter) in the month and in the month before."""
    zone = lists.calendar.zone
    start, end = rates.month_bounds(month, zone)
    before, _ = rates.month_bounds(rates.previous_month(month), zone)
    current = DemandFact.classified_at >= start
    rows = await session.execute(
        select(DemandFact.unit_code, DemandFact.matter_code, current.label("current"), func.count())
        .where(DemandFact.classified_at >= before, DemandFact.classified_at < end)
        .group_by(DemandFact.unit_code, DemandFact.matter_code, literal_column("3"))
    )
    now_rows: list[tuple[str, str, int]] = []
    before_rows: list[tuple[str, str, int]] = []
    for unit_code, matter, is_current, count in rows:
        (now_rows if is_current else before_rows).append((unit_code, matter, int(count)))
    return now_rows, before_rows


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
    reader: Reader,
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
        counted = await counts_by(session, month)
        demand_rows = await demand_counts(session, lists, month) if by == "unit" else ([], [])
    ranked: list[tuple[rates.Figures, RankingRow]] = []
    if by == "department":
        per_department: dict[str, dict[str, int]] = defaultdict(dict)
        about: dict[str, tuple[str, str]] = {}
        for department, name, unit_code, metric, value in counted:
            if rates.within(unit_code, scope) and (level is None or level_of(unit_code) is level):
                per_department[department][metric] = value
                about[department] = (name, unit_code)
        for department, counts in per_department.items():
            name, unit_code = about[department]
            figures = rates.Figures(counts)
            row = RankingRow(
                rank=0, unit_code=unit_code, name=name, department_id=department,
                figures=Figures.of(figures),
            )  # fmt: skip
            ranked.append((figures, row))
    else:
        assert level is not None
        # Everything grouped once by the ranked unit it lies beneath (its code's prefix).
        length = rates.PREFIX_LENGTH[level]
        by_unit: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for _department, _name, unit_code, metric, value in counted:
            by_unit[unit_code[:length]][metric] += value
        current: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
        previous: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
        for grouped, found in zip((current, previous), demand_rows, strict=True):
            for row_ in found:
                grouped[row_[0][:length]].append(row_)
        for listed in lists.units:
            if listed.level is not level or not rates.within(listed.code, scope):
                continue
            prefix = listed.code[:length]
            figures = rates.Figures(dict(by_unit.get(prefix, {})))
            spots = rates.hot_spots(
                current.get(prefix, []), previous.get(prefix, []), listed.code, limit=hotspots
            )
            row = RankingRow(
                rank=0, unit_code=listed.code, name=listed.name, figures=Figures.of(figures),
                hotspots=_hotspots_out(lists, spots) if hotspots else [],
            )  # fmt: skip
            ranked.append((figures, row))
    ranked.sort(
        key=lambda pair: (
            rates.rank_order(pair[0], sort),
            pair[1].unit_code,
            pair[1].department_id or "",
        )
    )
    rows = [row.model_copy(update={"rank": n}) for n, (_, row) in enumerate(ranked, start=1)]
    return Ranking(month=month, by=by, level=level, within=scope, sort=sort, rows=rows)


@router.get(
    "/v1/hotspots",
    response_model=HotSpots,
    summary="每月一题 candidates: the matters that grew most at and beneath a unit",
    responses={403: {"description": "not a coordinator, or outside its jurisdiction"}},
)
async def hotspots(
    runtime: RuntimeDep,
    reader: Reader,
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
        current, previous = await demand_counts(session, lists, month)
    spots = rates.hot_spots(current, previous, scope, limit=limit)
    return HotSpots(
        unit_code=scope,
        name=lists.units_by_code[scope].name,
        month=month,
        hotspots=_hotspots_out(lists, spots),
    )
