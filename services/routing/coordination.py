"""The coordinator API (disputes, extensions) within the coordinator's jurisdiction, and the
audit timeline of a demand."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.jurisdiction import UnitCode
from contracts.text import Text
from services.routing import repository, service
from services.routing.models import Dispute, Extension
from services.routing.schemas import (
    DecisionIn,
    DisputeView,
    EscalationView,
    ExtensionView,
    LinkView,
    ReassignIn,
    RulingIn,
    SummonIn,
    SummonsView,
    TaskView,
    TimelineStep,
)
from services.runtime.auth import CurrentPrincipal, Principal, Role
from services.runtime.http import RuntimeDep, Unprocessable

router = APIRouter(tags=["coordinators"])
T = TypeVar("T")


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


_NOT_FOUND = {
    service.TaskNotFound: "no such task",
    service.DisputeNotFound: "no such dispute",
    service.ExtensionNotFound: "no such extension request",
}


async def _coordinate(runtime: RuntimeDep, action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One coordinator action in one transaction, domain refusals mapped to HTTP."""
    try:
        async with runtime.sessions() as session, session.begin():
            result = await action(session)
    except (service.TaskNotFound, service.DisputeNotFound, service.ExtensionNotFound) as exc:
        raise HTTPException(404, _NOT_FOUND[type(exc)]) from exc
    except service.OutsideJurisdiction as exc:
        raise HTTPException(403, f"outside your jurisdiction: {exc}") from exc
    except (service.NotALiveLeadTask, service.AlreadyRuled, service.ExtensionRefused) as exc:
        raise HTTPException(409, str(exc)) from exc
    except service.InvalidRuling as exc:
        raise Unprocessable("body", str(exc)) from exc
    runtime.outbox.notify()
    return result


@router.get(
    "/v1/disputes",
    response_model=list[DisputeView],
    summary="Disputes within the coordinator's jurisdiction",
)
async def list_disputes(
    runtime: RuntimeDep,
    coordinator: Coordinator,
    state: Annotated[Text | None, Query(max_length=32)] = "open",
) -> list[DisputeView]:
    assert coordinator.unit_code is not None
    async with runtime.sessions() as session:
        disputes = await repository.disputes_within(session, coordinator.unit_code, state=state)
    return [_view(d) for d in disputes]


@router.get(
    "/v1/escalations",
    response_model=list[EscalationView],
    summary="Escalations at and beneath a unit (default: the coordinator's own)",
    responses={403: {"description": "the unit is outside the coordinator's jurisdiction"}},
)
async def list_escalations(
    runtime: RuntimeDep,
    coordinator: Coordinator,
    unit: Annotated[UnitCode | None, Query(description="12-digit unit code")] = None,
    state: Annotated[
        Literal["open", "climbed", "resolved", "all"],
        Query(description="open (default), climbed, resolved or all"),
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EscalationView]:
    assert coordinator.unit_code is not None
    unit = unit or coordinator.unit_code
    if not service.within_jurisdiction(coordinator.unit_code, unit):
        raise HTTPException(403, f"unit {unit} is outside your jurisdiction")
    async with runtime.sessions() as session:
        found = await repository.escalations_within(
            session, unit, state=None if state == "all" else state, limit=limit
        )
    return [EscalationView.of(e) for e in found]


@router.post(
    "/v1/disputes/{dispute_id}/ruling",
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
    lead = await _coordinate(
        runtime,
        partial(
            service.rule_dispute,
            outbox=runtime.outbox,
            lists=runtime.lists,
            dispute_id=dispute_id,
            coordinator_unit=coordinator.unit_code,
            actor=coordinator.sub,
            lead_department_id=body.lead_department_id,
            co_handler_department_ids=body.co_handler_department_ids,
            now=runtime.clock.now(),
        ),
    )
    return TaskView.of(lead, runtime.lists.data_list, as_role="coordinator")


def _extension_view(extension: Extension) -> ExtensionView:
    return ExtensionView.model_validate(extension, from_attributes=True)


@router.get(
    "/v1/extensions",
    response_model=list[ExtensionView],
    summary="Extension requests within the jurisdiction",
)
async def list_extensions(
    runtime: RuntimeDep,
    coordinator: Coordinator,
    state: Annotated[Text | None, Query(max_length=32)] = "pending",
) -> list[ExtensionView]:
    assert coordinator.unit_code is not None
    async with runtime.sessions() as session:
        extensions = await repository.extensions_within(session, coordinator.unit_code, state=state)
    return [_extension_view(e) for e in extensions]


@router.post(
    "/v1/extensions/{extension_id}/decision",
    response_model=ExtensionView,
    summary="Approve or refuse an extension (approval moves the reply deadline)",
    responses={
        403: {"description": "outside the jurisdiction"},
        404: {"description": "no such request"},
        409: {"description": "already decided"},
    },
)
async def decide(
    extension_id: uuid.UUID, body: DecisionIn, runtime: RuntimeDep, coordinator: Coordinator
) -> ExtensionView:
    assert coordinator.unit_code is not None
    extension = await _coordinate(
        runtime,
        partial(
            service.decide_extension,
            outbox=runtime.outbox,
            lists=runtime.lists,
            extension_id=extension_id,
            coordinator_unit=coordinator.unit_code,
            actor=coordinator.sub,
            approve=body.approve,
            note=body.note,
            now=runtime.clock.now(),
        ),
    )
    return _extension_view(extension)


@router.get(
    "/v1/demands/{demand_id}/timeline",
    response_model=list[TimelineStep],
    summary="Every step of every task of a demand, in order (append-only audit)",
    responses={404: {"description": "no tasks for this demand that the caller may see"}},
)
async def demand_timeline(
    demand_id: uuid.UUID, runtime: RuntimeDep, principal: CurrentPrincipal
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


_COORDINATOR_ERRORS: dict[int | str, dict[str, str]] = {
    403: {"description": "outside the coordinator's jurisdiction"},
    404: {"description": "no such task"},
    409: {"description": "not a live lead task"},
    422: {"description": "unknown department, or one already on the demand"},
}


@router.post(
    "/v1/tasks/{task_id}/reassign",
    response_model=TaskView,
    summary="Reassign (改派) the lead task to another department",
    responses=_COORDINATOR_ERRORS,
)
async def reassign(
    task_id: uuid.UUID, body: ReassignIn, runtime: RuntimeDep, coordinator: Coordinator
) -> TaskView:
    assert coordinator.unit_code is not None
    task = await _coordinate(
        runtime,
        partial(
            service.reassign_task,
            outbox=runtime.outbox,
            lists=runtime.lists,
            task_id=task_id,
            coordinator_unit=coordinator.unit_code,
            actor=coordinator.sub,
            department_id=body.department_id,
            reason=body.reason,
            now=runtime.clock.now(),
        ),
    )
    return TaskView.of(task, runtime.lists.data_list, as_role="coordinator")


@router.post(
    "/v1/tasks/{task_id}/co-handlers",
    response_model=TaskView,
    summary="Add a co-handler (加派) to the demand of a lead task",
    responses=_COORDINATOR_ERRORS,
)
async def add_co_handler(
    task_id: uuid.UUID, body: ReassignIn, runtime: RuntimeDep, coordinator: Coordinator
) -> TaskView:
    assert coordinator.unit_code is not None
    task = await _coordinate(
        runtime,
        partial(
            service.add_co_handler,
            outbox=runtime.outbox,
            lists=runtime.lists,
            task_id=task_id,
            coordinator_unit=coordinator.unit_code,
            actor=coordinator.sub,
            department_id=body.department_id,
            reason=body.reason,
            now=runtime.clock.now(),
        ),
    )
    return TaskView.of(task, runtime.lists.data_list, as_role="coordinator")


@router.post(
    "/v1/tasks/{task_id}/summons",
    response_model=list[SummonsView],
    summary="Summon (吹哨报到) departments to the scene, with an arrival deadline",
    responses=_COORDINATOR_ERRORS,
)
async def summon(
    task_id: uuid.UUID, body: SummonIn, runtime: RuntimeDep, coordinator: Coordinator
) -> list[SummonsView]:
    assert coordinator.unit_code is not None
    created = await _coordinate(
        runtime,
        partial(
            service.summon,
            outbox=runtime.outbox,
            lists=runtime.lists,
            task_id=task_id,
            coordinator_unit=coordinator.unit_code,
            actor=coordinator.sub,
            department_ids=body.department_ids,
            arrive_within_minutes=body.arrive_within_minutes,
            note=body.note,
            now=runtime.clock.now(),
        ),
    )
    return [SummonsView.model_validate(s, from_attributes=True) for s in created]


@router.post(
    "/v1/summons/{summons_id}/arrival",
    response_model=SummonsView,
    summary="The summoned department reports on site (报到)",
    responses={404: {"description": "no such summons for this department"}},
)
async def arrive(
    summons_id: uuid.UUID, runtime: RuntimeDep, principal: CurrentPrincipal
) -> SummonsView:
    if principal.role is not Role.department or principal.department_id is None:
        raise HTTPException(403, "this API is for department tokens")
    try:
        async with runtime.sessions() as session, session.begin():
            summons = await service.report_arrival(
                session, summons_id, department_id=principal.department_id, now=runtime.clock.now()
            )
    except service.TaskNotFound as exc:
        raise HTTPException(404, "no such summons for this department") from exc
    return SummonsView.model_validate(summons, from_attributes=True)


@router.get(
    "/v1/duplicates",
    response_model=list[LinkView],
    summary="Demands merged into open tasks within the jurisdiction",
)
async def list_duplicates(runtime: RuntimeDep, coordinator: Coordinator) -> list[LinkView]:
    assert coordinator.unit_code is not None
    async with runtime.sessions() as session:
        links = await repository.links_within(session, coordinator.unit_code)
    return [LinkView.of(link, task) for link, task in links]


@router.post(
    "/v1/duplicates/{link_id}/undo",
    response_model=TaskView | None,
    summary="Separate a merged demand: it is dispatched on its own",
    responses=_COORDINATOR_ERRORS,
)
async def undo_duplicate(
    link_id: uuid.UUID, runtime: RuntimeDep, coordinator: Coordinator
) -> TaskView | None:
    assert coordinator.unit_code is not None
    lead = await _coordinate(
        runtime,
        partial(
            service.undo_duplicate,
            outbox=runtime.outbox,
            lists=runtime.lists,
            link_id=link_id,
            coordinator_unit=coordinator.unit_code,
            actor=coordinator.sub,
            now=runtime.clock.now(),
        ),
    )
    return (
        None if lead is None else TaskView.of(lead, runtime.lists.data_list, as_role="coordinator")
    )
