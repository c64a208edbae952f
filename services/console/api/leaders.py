"""The leaders' dashboard (领导驾驶舱): the three rates and their companions for the month, the
ranking of the units beneath (with hot spots), and the ranking as CSV."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.console import exports
from services.console.pages import ConsoleDep, SignedIn, render, require
from services.console.service import ServiceRefused
from services.console.sessions import Session
from services.runtime.auth import Role

router = APIRouter(prefix="/leaders", tags=["leaders"])

LEVELS = {"district": "区县", "street": "街道乡镇", "community": "社区村"}
MONTH = re.compile(r"^[0-9]{4}-[0-9]{2}$")
RATES = exports.RATES


async def _ranking(
    console: ConsoleDep, session: Session, level: str, month: str | None
) -> dict[str, Any]:
    params: dict[str, Any] = {"level": level}
    if month:
        params["month"] = month
    ranking: dict[str, Any] = await console.services.call(
        "feedback", "GET", "/v1/rankings", headers=session.headers(), params=params
    )
    return ranking


def _query(level: str | None, month: str | None) -> tuple[str, str | None, dict[str, str]]:
    errors = {}
    if level not in LEVELS:
        if level:
            errors["level"] = "请从选项中选择一项"
        level = "street"
    if month and not MONTH.match(month):
        errors["month"] = "格式应为 2026-11"
        month = None
    return level, month or None, errors


@router.get("")
async def dashboard(
    request: Request,
    console: ConsoleDep,
    session: SignedIn,
    level: Annotated[str | None, Query(max_length=20)] = None,
    month: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    require(session, Role.coordinator)
    level, month, errors = _query(level, month)
    # Three calls at once: the month's ranking, the reader's whole jurisdiction month by month
    # (summed by feedback in one statement), and routing's count of its open tasks.
    ranking, trend, counts = await asyncio.gather(
        _ranking(console, session, level, month),
        _trend(console, session, month),
        _open_counts(console, session),
    )
    whole = trend[-1]["figures"] if trend else {}
    return render(
        request,
        "leaders.html",
        {
            "ranking": ranking,
            "level": level,
            "levels": LEVELS,
            "rates": RATES,
            "whole": whole,
            "counts": counts,
            "trend": trend,
            "lines": trend_lines(trend),
            "bars": rate_bars(ranking["rows"], "satisfaction_rate"),
            "errors": errors,
        },
        status_code=422 if errors else 200,
        session=session,
    )


TREND_MONTHS = 6
CHART = {"width": 640, "height": 220, "left": 40, "right": 16, "top": 12, "bottom": 28}
LINE_COLOURS = {
    "response_rate": "#24527a",
    "resolution_rate": "#b25e00",
    "satisfaction_rate": "#b71c1c",
}


async def _trend(console: ConsoleDep, session: Session, month: str | None) -> list[dict[str, Any]]:
    """The reader's whole jurisdiction (departments at its own unit included), month by month,
    oldest first, ending with the month shown."""
    params: dict[str, Any] = {"months": TREND_MONTHS}
    if month:
        params["until"] = month
    answer = await console.services.call(
        "feedback", "GET", "/v1/rates", headers=session.headers(), params=params
    )
    return [{"month": m["month"], "figures": m["figures"]} for m in answer["months"]]


async def _open_counts(console: ConsoleDep, session: Session) -> dict[str, int] | None:
    """Open, late and escalated tasks of the jurisdiction; None when routing cannot say (the
    rates are still worth showing)."""
    try:
        counts: dict[str, int] = await console.services.call(
            "routing", "GET", "/v1/jurisdiction/counts", headers=session.headers()
        )
    except ServiceRefused:
        return None
    return counts


def trend_lines(trend: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An SVG polyline per rate (a month without a figure breaks no line: it is left out),
    drawn on the server, so the page needs no script."""
    width = CHART["width"] - CHART["left"] - CHART["right"]
    height = CHART["height"] - CHART["top"] - CHART["bottom"]
    step = width / max(len(trend) - 1, 1)
    lines = []
    for name, label in RATES[:3]:
        points = [
            (CHART["left"] + i * step, CHART["top"] + (1 - value) * height, value)
            for i, month in enumerate(trend)
            if (value := month["figures"].get(name)) is not None
        ]
        lines.append(
            {
                "name": name,
                "label": label,
                "colour": LINE_COLOURS[name],
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points),
                "dots": [{"x": round(x, 1), "y": round(y, 1), "value": v} for x, y, v in points],
            }
        )
    return lines


def rate_bars(rows: list[dict[str, Any]], rate: str, *, limit: int = 15) -> list[dict[str, Any]]:
    """The ranked units that have the rate, best first, as bar lengths out of 100."""
    found = [r for r in rows if r["figures"].get(rate) is not None][:limit]
    return [
        {
            "name": r["name"],
            "value": r["figures"][rate],
            "length": round(r["figures"][rate] * 100, 1),
        }
        for r in found
    ]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/ranking.{extension}")
async def ranking_file(
    console: ConsoleDep,
    session: SignedIn,
    extension: Literal["csv", "xlsx"],
    level: Annotated[str | None, Query(max_length=20)] = None,
    month: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The ranking of the month as CSV or XLSX (rates as fractions; empty without a figure)."""
    require(session, Role.coordinator)
    level, month, _ = _query(level, month)
    ranking = await _ranking(console, session, level, month)
    rows = exports.ranking_rows(ranking)
    filename = f"ranking-{ranking['month']}-{level}.{extension}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if extension == "csv":
        return Response(
            exports.as_csv(exports.HEADER, rows),
            media_type="text/csv; charset=utf-8",
            headers=disposition,
        )
    return Response(exports.as_xlsx(exports.HEADER, rows), media_type=XLSX, headers=disposition)
