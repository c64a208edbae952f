"""The coordinator API: disputes within the coordinator's jurisdiction, and their ruling."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from services.routing import repository, service
from services.routing.models import Dispute
from services.routing.schemas import DisputeView, RulingIn, TaskView
from services.runtime.auth import CurrentPrincipal, Principal, Role
from services.runtime.http import RuntimeDep

router = APIRouter(prefix="/v1/disputes", tags=["coordinators"])


def coordinator_of(principal: CurrentPrincipal) -> Principal:
    if principal.role is not Role.coordinator or principal.unit_code is None:
        raise HTTPException(403, "this API is for coordinator tokens")
    return principal


Coordinator = Annotated[Principal, Depends(coordinator_of)]


def _view(dispute: Dispute) -> DisputeView:
    return DisputeView(
        dispute_id=dispute.id,
        demand_id=dispute.demand_id,
        coordinator_unit_code=dispute.coordinator_unit_code,
        state=dispute.state,
        reason=dispute.reason,
        returned_by=[d for d in dispute.returned_by.split(",") if d],
        created_at=dispute.created_at,
        ruled_by=dispute.ruled_by,
        ruled_at=dispute.ruled_at,
        ruling=[d for d in (dispute.ruling or "").split(",") if d],
    )


@router.get(
    "", response_model=list[DisputeView], summary="Disputes within the coordinator's jurisdiction"
)
async def list_disputes(
    runtime: RuntimeDep, coordinator: Coordinator, state: str | None = "open"
) -> list[DisputeView]:
    assert coordinator.unit_code is not None
    async with runtime.sessions() as session:
        disputes = await repository.disputes_within(session, coordinator.unit_code, state=state)
    return [_view(d) for d in disputes]


@router.post(
    "/{dispute_id}/ruling",
    response_model=TaskView,
    summary="Rule (裁定) who leads and who co-handles; final for the task",
    responses={
        403: {"description": "outside the coordinator's jurisdiction"},
        404: {"description": "no such dispute"},
        409: {"description": "already ruled"},
        422: {"description": "unknown department"},
    },
)
async def rule(
    dispute_id: uuid.UUID, body: RulingIn, runtime: RuntimeDep, coordinator: Coordinator
) -> TaskView:
    assert coordinator.unit_code is not None
    try:
        async with runtime.sessions() as session, session.begin():
            lead = await service.rule_dispute(
                session,
                runtime.outbox,
                runtime.lists,
                dispute_id,
                coordinator_unit=coordinator.unit_code,
                actor=coordinator.sub,
                lead_department_id=body.lead_department_id,
                co_handler_department_ids=body.co_handler_department_ids,
                now=runtime.clock.now(),
            )
    except service.DisputeNotFound as exc:
        raise HTTPException(404, "no such dispute") from exc
    except service.OutsideJurisdiction as exc:
        raise HTTPException(403, f"outside your jurisdiction: {exc}") from exc
    except service.AlreadyRuled as exc:
        raise HTTPException(409, str(exc)) from exc
    except service.InvalidRuling as exc:
        raise HTTPException(422, [{"field": "body", "reason": str(exc)}]) from exc
    runtime.outbox.notify()
    return TaskView.of(lead, runtime.lists.data_list)
