"""The leaders' dashboard (领导驾驶舱): the three rates and their companions for the month, the
ranking of the units beneath (with hot spots), and the ranking as CSV."""

from __future__ import annotations

import csv
import io
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from contracts.jurisdiction import level_of
from services.console.pages import ConsoleDep, SignedIn, percent, render, require
from services.console.sessions import Session
from services.runtime.auth import Role

router = APIRouter(prefix="/leaders", tags=["leaders"])

LEVELS = {"district": "区县", "street": "街道乡镇", "community": "社区村"}
MONTH = re.compile(r"^[0-9]{4}-[0-9]{2}$")
RATES = (
    ("response_rate", "响应率"),
    ("resolution_rate", "解决率"),
    ("satisfaction_rate", "满意率"),
    ("on_time_reply_rate", "按时办结率"),
    ("return_rate", "退单率"),
    ("redo_rate", "重办率"),
)


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
    ranking = await _ranking(console, session, level, month)
    # The reader's own unit ranked at its own level is one row: the whole jurisdiction,
    # departments at the unit itself included (the rows beneath leave those out).
    assert session.principal.unit_code is not None
    own = await _ranking(
        console, session, level_of(session.principal.unit_code).value, ranking["month"]
    )
    whole = own["rows"][0]["figures"] if own["rows"] else {}
    return render(
        request,
        "leaders.html",
        {
            "ranking": ranking,
            "level": level,
            "levels": LEVELS,
            "rates": RATES,
            "whole": whole,
            "errors": errors,
        },
        status_code=422 if errors else 200,
        session=session,
    )


@router.get("/ranking.csv")
async def ranking_csv(
    console: ConsoleDep,
    session: SignedIn,
    level: Annotated[str | None, Query(max_length=20)] = None,
    month: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    require(session, Role.coordinator)
    level, month, _ = _query(level, month)
    ranking = await _ranking(console, session, level, month)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["排名", "单位代码", "单位", "派单数", *(label for _, label in RATES)])
    for row in ranking["rows"]:
        figures = row["figures"]
        writer.writerow(
            [row["rank"], row["unit_code"], row["name"], figures["assigned"]]
            + [percent(figures.get(name)) for name, _ in RATES]
        )
    filename = f"ranking-{ranking['month']}-{level}.csv"
    return Response(
        "\ufeff" + out.getvalue(),  # a BOM, so spreadsheet programs read the Chinese as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
