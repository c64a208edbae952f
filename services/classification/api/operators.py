"""The triage queue (人工分拨) for 12345 operators: list pending demands and classify them by
hand; the decision continues the flow exactly as an automatic one."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query

from services.classification import repository, service
from services.classification.schemas import ManualClassification, TriageItemOut
from services.runtime.auth import OperatorDep
from services.runtime.http import RuntimeDep, Unprocessable

router = APIRouter(prefix="/v1/triage", tags=["triage"])


@router.get(
    "",
    response_model=list[TriageItemOut],
    summary="Demands waiting for manual triage",
    description="Critical demands first, then urgent ones, then the rest; each group oldest first.",
)
async def pending(
    runtime: RuntimeDep,
    _operator: OperatorDep,
    state: Annotated[Literal["pending", "classified"], Query()] = "pending",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[TriageItemOut]:
    async with runtime.sessions() as session:
        items = await repository.triage_items(session, state=state, limit=limit)
        return [TriageItemOut.of(i) for i in items]


@router.post(
    "/{demand_id}/classify",
    response_model=TriageItemOut,
    summary="Classify a demand by hand; routing continues at once",
    responses={
        404: {"description": "no such demand in triage"},
        409: {"description": "already classified"},
        422: {"description": "unknown matter or unit"},
    },
)
async def classify_by_hand(
    demand_id: uuid.UUID, body: ManualClassification, runtime: RuntimeDep, operator: OperatorDep
) -> TriageItemOut:
    lists = runtime.lists
    matter = lists.matters_by_code.get(body.matter_code)
    if matter is None:
        raise Unprocessable("body.matter_code", f"no matter {body.matter_code} in {lists.version}")
    if body.unit_code not in lists.units_by_code:
        raise Unprocessable("body.unit_code", f"unit {body.unit_code} is not in the registry")
    try:
        item = await service.classify_by_hand(
            runtime,
            demand_id,
            matter=matter,
            unit_code=body.unit_code,
            demand_type=body.demand_type,
            urgency=body.urgency,
            operator=operator.sub,
        )
    except service.NotInTriage as exc:
        raise HTTPException(404, str(exc)) from exc
    except service.AlreadyClassified as exc:
        raise HTTPException(409, str(exc)) from exc
    return TriageItemOut.of(item)
