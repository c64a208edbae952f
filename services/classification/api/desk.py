"""The desk exits of the triage queue for 12345 operators: answer a consultation, pass praise
on, close an invalid contact, merge into a demand (each audited and announced)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, HTTPException

from services.classification import desk, knowledge, service
from services.classification.models import TriageItem
from services.classification.schemas import (
    ConsultationAnswer,
    InvalidClosure,
    MergeRequest,
    PraiseRecord,
    TriageItemOut,
)
from services.runtime.auth import OperatorDep
from services.runtime.http import RuntimeDep, Unprocessable

router = APIRouter(prefix="/v1/triage", tags=["triage"])

_DECIDED: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such demand in triage"},
    409: {"description": "already decided"},
    422: {"description": "the exit does not fit the demand, or a field is invalid"},
}


async def _decided(decision: Awaitable[TriageItem]) -> TriageItemOut:
    try:
        item = await decision
    except service.NotInTriage as exc:
        raise HTTPException(404, str(exc)) from exc
    except service.AlreadyClassified as exc:
        raise HTTPException(409, str(exc)) from exc
    return TriageItemOut.of(item)


@router.post(
    "/{demand_id}/answer",
    response_model=TriageItemOut,
    summary="Answer a consultation at the desk (直接办结); the citizen evaluates the answer",
    responses=_DECIDED,
)
async def answer_consultation(
    demand_id: uuid.UUID, body: ConsultationAnswer, runtime: RuntimeDep, operator: OperatorDep
) -> TriageItemOut:
    if body.matter_code is not None and body.matter_code not in runtime.lists.matters_by_code:
        raise Unprocessable("body.matter_code", f"no matter {body.matter_code}")
    answer = body.answer
    if body.knowledge_entry_id is not None:
        async with runtime.sessions() as session:
            entry = await knowledge.valid_entry(
                session, body.knowledge_entry_id, now=runtime.clock.now()
            )
        if entry is None:
            raise Unprocessable(
                "body.knowledge_entry_id", "no such entry, or it is not valid now (stale)"
            )
        answer = answer or entry.answer
    if answer is None:
        raise Unprocessable("body.answer", "give the answer or a knowledge_entry_id")
    try:
        return await _decided(
            desk.answer_consultation(
                runtime,
                demand_id,
                answer=answer,
                matter_code=body.matter_code,
                knowledge_entry_id=body.knowledge_entry_id,
                operator=operator.sub,
            )
        )
    except desk.NotAConsultation as exc:
        raise Unprocessable("demand_type", str(exc)) from exc


@router.post(
    "/{demand_id}/praise",
    response_model=TriageItemOut,
    summary="Pass praise or thanks on to a department (表扬); the contact closes",
    responses=_DECIDED,
)
async def record_praise(
    demand_id: uuid.UUID, body: PraiseRecord, runtime: RuntimeDep, operator: OperatorDep
) -> TriageItemOut:
    department = runtime.lists.departments_by_id.get(body.department_id)
    if department is None:
        raise Unprocessable("body.department_id", f"no department {body.department_id}")
    return await _decided(
        desk.record_praise(runtime, demand_id, department=department, operator=operator.sub)
    )


@router.post(
    "/{demand_id}/close",
    response_model=TriageItemOut,
    summary="Close spam or an invalid contact with a reason (audited)",
    responses=_DECIDED,
)
async def close_as_invalid(
    demand_id: uuid.UUID, body: InvalidClosure, runtime: RuntimeDep, operator: OperatorDep
) -> TriageItemOut:
    return await _decided(
        desk.close_as_invalid(
            runtime, demand_id, reason=body.reason, note=body.note, operator=operator.sub
        )
    )


@router.post(
    "/{demand_id}/merge",
    response_model=TriageItemOut,
    summary="Merge a repeat contact into the routed demand it repeats (合并办理)",
    responses=_DECIDED,
)
async def merge_into(
    demand_id: uuid.UUID, body: MergeRequest, runtime: RuntimeDep, operator: OperatorDep
) -> TriageItemOut:
    try:
        return await _decided(
            desk.merge_into(runtime, demand_id, into=body.into_demand_id, operator=operator.sub)
        )
    except desk.NoSuchDemand as exc:
        raise Unprocessable("body.into_demand_id", str(exc)) from exc
