"""A demand's audit timeline, for the staff who may see one of its tasks: the department that
holds it, or a coordinator above it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException

from services.routing import repository, service
from services.routing.api.dependencies import RoutingRuntime
from services.routing.schemas import TimelineStep
from services.runtime.auth import CurrentPrincipal, Role

router = APIRouter(tags=["coordinators"])


@router.get(
    "/v1/demands/{demand_id}/timeline",
    response_model=list[TimelineStep],
    summary="Every step of every task of a demand, in order (append-only audit)",
    responses={404: {"description": "no tasks for this demand that the caller may see"}},
)
async def demand_timeline(
    demand_id: uuid.UUID, runtime: RoutingRuntime, principal: CurrentPrincipal
) -> list[TimelineStep]:
    async with runtime.sessions() as session:
        steps = await repository.timeline(session, demand_id)
    tasks = {task.id: task for _, task in steps}
    allowed = any(
        (principal.role is Role.department and task.department_id == principal.department_id)
        or (
            principal.role is Role.coordinator
            and principal.unit_code is not None
            and service.within_jurisdiction(principal.unit_code, task.unit_code)
        )
        for task in tasks.values()
    )
    if not allowed:
        raise HTTPException(404, "no tasks for this demand that you may see")
    return [
        TimelineStep(
            at=step.at,
            task_id=task.id,
            role=task.role,
            department_id=task.department_id,
            department_name=task.department_name,
            action=step.action,
            from_state=step.from_state,
            to_state=step.to_state,
            actor=step.actor,
            reason=step.reason,
        )
        for step, task in steps
    ]
