"""The coordinator API, within the coordinator's jurisdiction: disputes, extensions, escalations,
duplicates, and the actions on a live lead task (reassign, add a co-handler, summon)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Query

from contracts.events import TaskRole
from contracts.jurisdiction import UnitCode
from contracts.text import Text
from services.routing import repository, service, task_lists
from services.routing.api.dependencies import RoutingRuntime
from services.routing.models import Dispute, Extension
from services.routing.schemas import (
    CitesLaw,
    DecisionIn,
    DisputeView,
    EscalationView,
    ExtensionView,
    LinkView,
    OpenTaskCounts,
    OpenTasksPage,
    ReassignIn,
    RulingIn,
    SummonIn,
    SummonsView,
    TaskView,
)
from services.runtime.auth import CoordinatorDep, CoordinatorPrincipal
from services.runtime.http import Unprocessable

router = APIRouter(tags=["coordinators"])
T = TypeVar("T")


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


def _citation(body: CitesLaw) -> service.Citation:
    return service.Citation(body.legal_basis, body.legal_basis_from_lists, body.reason)


_NOT_FOUND = {
    service.TaskNotFound: "no such task",
    service.DisputeNotFound: "no such dispute",
    service.ExtensionNotFound: "no such extension request",
}


async def _coordinate(
    runtime: RoutingRuntime,
    coordinator: CoordinatorPrincipal,
    use_case: Callable[..., Awaitable[T]],
    **arguments: Any,
) -> T:
    """A coordinator's use case in one transaction, given what every one of them takes from
    the request; domain refusals mapped to HTTP."""
    action = partial(
        use_case,
        outbox=runtime.outbox,
        lists=runtime.lists,
        act=service.CoordinatorAct(coordinator.unit_code, coordinator.sub, runtime.clock.now()),
        **arguments,
    )
    try:
        async with runtime.sessions() as session, session.begin():
            result = await action(session)
    except (service.TaskNotFound, service.DisputeNotFound, service.ExtensionNotFound) as exc:
        raise HTTPException(404, _NOT_FOUND[type(exc)]) from exc
    except service.OutsideJurisdiction as exc:
        raise HTTPException(403, f"outside your jurisdiction: {exc}") from exc
    except (service.NotALiveLeadTask, service.AlreadyRuled, service.ExtensionRefused) as exc:
        raise HTTPException(409, str(exc)) from exc
    except service.MissingLegalBasis as exc:
        raise Unprocessable("legal_basis", str(exc)) from exc
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
    runtime: RoutingRuntime,
    coordinator: CoordinatorDep,
    state: Annotated[Text | None, Query(max_length=32)] = "open",
) -> list[DisputeView]:
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
    runtime: RoutingRuntime,
    coordinator: CoordinatorDep,
    unit: Annotated[UnitCode | None, Query(description="12-digit unit code")] = None,
    state: Annotated[
        Literal["open", "climbed", "resolved", "all"],
        Query(description="open (default), climbed, resolved or all"),
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EscalationView]:
    unit = unit or coordinator.unit_code
    if not service.within_jurisdiction(coordinator.unit_code, unit):
        raise HTTPException(403, f"unit {unit} is outside your jurisdiction")
    async with runtime.sessions() as session:
        found = await repository.escalations_within(
            session, unit, state=None if state == "all" else state, limit=limit
        )
    return [EscalationView.of(e) for e in found]


@router.get(
    "/v1/jurisdiction/tasks",
    response_model=OpenTasksPage,
    summary="Open tasks at and beneath a unit (default: the coordinator's own), with filters",
    responses={403: {"description": "the unit is outside the coordinator's jurisdiction"}},
)
async def list_open_tasks(  # noqa: PLR0913 - one argument per filter of the desk
    runtime: RoutingRuntime,
    coordinator: CoordinatorDep,
    unit: Annotated[UnitCode | None, Query(description="12-digit unit code")] = None,
    matter: Annotated[Text | None, Query(max_length=40, description="matter code")] = None,
    department: Annotated[Text | None, Query(max_length=100, description="department id")] = None,
    state: Annotated[Literal["assigned", "signed", "contacted"] | None, Query()] = None,
    late: Annotated[
        bool, Query(description="only tasks past their current stage's deadline")
    ] = False,
    escalated: Annotated[bool | None, Query(description="held by a coordinator, or not")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> OpenTasksPage:
    unit = unit or coordinator.unit_code
    if not service.within_jurisdiction(coordinator.unit_code, unit):
        raise HTTPException(403, f"unit {unit} is outside your jurisdiction")
    where = task_lists.OpenTaskFilter(
        unit_code=unit,
        matter_code=matter,
        department_id=department,
        state=state,
        late_at=runtime.clock.now() if late else None,
        escalated=escalated,
    )
    async with runtime.sessions() as session:
        total, found = await task_lists.open_tasks_within(
            session, where, limit=limit, offset=offset
        )
    views = [TaskView.of(t, runtime.lists.data_list, as_role="coordinator") for t in found]
    return OpenTasksPage(total=total, limit=limit, offset=offset, tasks=views)


@router.get(
    "/v1/jurisdiction/counts",
    response_model=OpenTaskCounts,
    summary="Open, late and escalated tasks at and beneath a unit (default: the coordinator's)",
    responses={403: {"description": "the unit is outside the coordinator's jurisdiction"}},
)
async def count_open_tasks(
    runtime: RoutingRuntime,
    coordinator: CoordinatorDep,
    unit: Annotated[UnitCode | None, Query(description="12-digit unit code")] = None,
) -> OpenTaskCounts:
    unit = unit or coordinator.unit_code
    if not service.within_jurisdiction(coordinator.unit_code, unit):
        raise HTTPException(403, f"unit {unit} is outside your jurisdiction")
    async with runtime.sessions() as session:
        counts = await task_lists.open_task_counts(session, unit, runtime.clock.now())
    return OpenTaskCounts(unit_code=unit, **counts)


@router.post(
    "/v1/disputes/{dispute_id}/ruling",
    response_model=TaskView,
    summary="Rule (裁定) who leads and who co-handles; final for the task",
    responses={
        403: {"description": "outside the coordinator's jurisdiction"},
        404: {"description": "no such dispute"},
        409: {"description": "already ruled"},
        422: {"description": "unknown department, or no legal basis"},
    },
)
async def rule(
    dispute_id: uuid.UUID, body: RulingIn, runtime: RoutingRuntime, coordinator: CoordinatorDep
) -> TaskView:
    lead = await _coordinate(
        runtime,
        coordinator,
        service.rule_dispute,
        dispute_id=dispute_id,
        lead_department_id=body.lead_department_id,
        co_handler_department_ids=body.co_handler_department_ids,
        citation=_citation(body),
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
    runtime: RoutingRuntime,
    coordinator: CoordinatorDep,
    state: Annotated[Text | None, Query(max_length=32)] = "pending",
) -> list[ExtensionView]:
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
    extension_id: uuid.UUID, body: DecisionIn, runtime: RoutingRuntime, coordinator: CoordinatorDep
) -> ExtensionView:
    extension = await _coordinate(
        runtime,
        coordinator,
        service.decide_extension,
        extension_id=extension_id,
        approve=body.approve,
        note=body.note,
        citation=_citation(body),
    )
    return _extension_view(extension)


_COORDINATOR_ERRORS: dict[int | str, dict[str, str]] = {
    403: {"description": "outside the coordinator's jurisdiction"},
    404: {"description": "no such task"},
    409: {"description": "not a live lead task"},
    422: {"description": "unknown department, or one already on the demand"},
}


def _assigning(role: TaskRole) -> Callable[..., Awaitable[TaskView]]:
    """The endpoint giving a live lead task's demand to a department as `role`."""

    async def assign(
        task_id: uuid.UUID, body: ReassignIn, runtime: RoutingRuntime, coordinator: CoordinatorDep
    ) -> TaskView:
        task = await _coordinate(
            runtime,
            coordinator,
            service.assign_by_coordinator,
            role=role,
            task_id=task_id,
            department_id=body.department_id,
            citation=_citation(body),
        )
        return TaskView.of(task, runtime.lists.data_list, as_role="coordinator")

    return assign


router.post(
    "/v1/tasks/{task_id}/reassign",
    name="reassign",
    response_model=TaskView,
    summary="Reassign (改派) the lead task to another department",
    responses=_COORDINATOR_ERRORS,
)(_assigning(TaskRole.lead))
router.post(
    "/v1/tasks/{task_id}/co-handlers",
    name="add_co_handler",
    response_model=TaskView,
    summary="Add a co-handler (加派) to the demand of a lead task",
    responses=_COORDINATOR_ERRORS,
)(_assigning(TaskRole.co_handler))


@router.post(
    "/v1/tasks/{task_id}/summons",
    response_model=list[SummonsView],
    summary="Summon (吹哨报到) departments to the scene, with an arrival deadline",
    responses=_COORDINATOR_ERRORS,
)
async def summon(
    task_id: uuid.UUID, body: SummonIn, runtime: RoutingRuntime, coordinator: CoordinatorDep
) -> list[SummonsView]:
    created = await _coordinate(
        runtime,
        coordinator,
        service.summon,
        task_id=task_id,
        department_ids=body.department_ids,
        arrive_within_minutes=body.arrive_within_minutes,
        note=body.note,
    )
    return [SummonsView.model_validate(s, from_attributes=True) for s in created]


@router.get(
    "/v1/duplicates",
    response_model=list[LinkView],
    summary="Demands merged into open tasks within the jurisdiction",
)
async def list_duplicates(runtime: RoutingRuntime, coordinator: CoordinatorDep) -> list[LinkView]:
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
    link_id: uuid.UUID, runtime: RoutingRuntime, coordinator: CoordinatorDep
) -> TaskView | None:
    lead = await _coordinate(
        runtime,
        coordinator,
        service.undo_duplicate,
        link_id=link_id,
    )
    return (
        None if lead is None else TaskView.of(lead, runtime.lists.data_list, as_role="coordinator")
    )
