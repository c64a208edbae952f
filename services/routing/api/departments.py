"""The department API: a department sees and acts on its own tasks only, and reports
arrival (报到) where a coordinator summoned it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.lists.calendar import TimeLimit
from contracts.text import Text
from services.routing import repository, service, task_lists
from services.routing.api.dependencies import RoutingRuntime
from services.routing.models import Task
from services.routing.schemas import ExtensionIn, ReplyIn, ReturnIn, SummonsView, TaskView
from services.routing.state import TaskAction, TaskState, TransitionRefused
from services.runtime.auth import DepartmentDep, DepartmentPrincipal

router = APIRouter(tags=["tasks"])

MAX_OFFSET = 1_000_000
"""Deepest page of a department's task list (a larger offset would only scan, and past 2**63
it would not even reach the database)."""

_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "no or invalid bearer token"},
    403: {"description": "the token is not a department's"},
    404: {"description": "no such task for this department"},
}


@router.get(
    "/v1/tasks", response_model=list[TaskView], summary="The department's tasks", responses=_ERRORS
)
async def list_tasks(
    runtime: RoutingRuntime,
    department: DepartmentDep,
    state: TaskState | None = None,
    open: Annotated[
        bool, Query(description="only tasks still to do, the nearest deadline first")
    ] = False,
    q: Annotated[Text | None, Query(max_length=50, description="in content or address")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[TaskView]:
    async with runtime.sessions() as session:
        tasks = await task_lists.tasks_of_department(
            session,
            department.department_id,
            state=state.value if state else None,
            open_only=open,
            text=q,
            limit=limit,
            offset=offset,
        )
    return [TaskView.of(t, runtime.lists.data_list) for t in tasks]


@router.get("/v1/tasks/{task_id}", response_model=TaskView, summary="One task", responses=_ERRORS)
async def get_task(
    task_id: uuid.UUID, runtime: RoutingRuntime, department: DepartmentDep
) -> TaskView:
    async with runtime.sessions() as session:
        task = await repository.get_task(session, task_id)
    if task is None or task.department_id != department.department_id:
        raise HTTPException(404, "no such task for this department")
    return TaskView.of(task, runtime.lists.data_list)


_ACTION_ERRORS = {**_ERRORS, 409: {"description": "the state machine does not allow it; says why"}}


async def _act(
    runtime: RoutingRuntime, use_case: Callable[[AsyncSession], Awaitable[Task]]
) -> TaskView:
    """Run one task action in its own transaction and map domain refusals to HTTP."""
    try:
        async with runtime.sessions() as session, session.begin():
            task = await use_case(session)
    except service.TaskNotFound as exc:
        raise HTTPException(404, "no such task for this department") from exc
    except (TransitionRefused, service.VersionConflict, service.ExtensionRefused) as exc:
        raise HTTPException(409, str(exc)) from exc
    runtime.outbox.notify()
    return TaskView.of(task, runtime.lists.data_list)


IfMatch = Annotated[
    int | None,
    Header(alias="If-Match", description="the task version the clerk saw; 409 if it changed since"),
]


def _department_action(
    use_case: Callable[..., Awaitable[Task]],
    runtime: RoutingRuntime,
    department: DepartmentPrincipal,
    task_id: uuid.UUID,
    version: int | None,
    **arguments: Any,
) -> Callable[[AsyncSession], Awaitable[Task]]:
    return partial(
        use_case,
        outbox=runtime.outbox,
        act=service.DepartmentAct(
            task_id, department.department_id, department.sub, runtime.clock.now(), version
        ),
        **arguments,
    )


def _acknowledging(action: TaskAction) -> Callable[..., Awaitable[TaskView]]:
    """The endpoint of a step that needs no body: sign or first contact."""

    async def acknowledge(
        task_id: uuid.UUID,
        runtime: RoutingRuntime,
        department: DepartmentDep,
        version: IfMatch = None,
    ) -> TaskView:
        use_case = _department_action(
            service.acknowledge_task, runtime, department, task_id, version, action=action
        )
        return await _act(runtime, use_case)

    return acknowledge


router.post(
    "/v1/tasks/{task_id}/sign",
    name="sign",
    response_model=TaskView,
    summary="Sign (签收) the task",
    responses=_ACTION_ERRORS,
)(_acknowledging(TaskAction.sign))
router.post(
    "/v1/tasks/{task_id}/contact",
    name="contact",
    response_model=TaskView,
    summary="Record the first contact with the citizen (先行联系)",
    responses=_ACTION_ERRORS,
)(_acknowledging(TaskAction.contact))


@router.post(
    "/v1/tasks/{task_id}/reply",
    response_model=TaskView,
    summary="Reply (办结) with the result",
    responses=_ACTION_ERRORS,
)
async def reply(
    task_id: uuid.UUID,
    body: ReplyIn,
    runtime: RoutingRuntime,
    department: DepartmentDep,
    version: IfMatch = None,
) -> TaskView:
    use_case = _department_action(
        service.reply_task,
        runtime,
        department,
        task_id,
        version,
        result=body.result,
        reply_text=body.reply_text,
    )
    return await _act(runtime, use_case)


@router.post(
    "/v1/tasks/{task_id}/return",
    response_model=TaskView,
    summary="Return (退单) a task that is not this department's, with reason and legal basis",
    responses=_ACTION_ERRORS,
)
async def return_task(
    task_id: uuid.UUID,
    body: ReturnIn,
    runtime: RoutingRuntime,
    department: DepartmentDep,
    version: IfMatch = None,
) -> TaskView:
    settings = runtime.settings
    use_case = _department_action(
        service.return_task,
        runtime,
        department,
        task_id,
        version,
        reason_code=body.reason_code,
        legal_basis=body.legal_basis,
        window=TimeLimit.parse(settings.return_window),
        max_returns=settings.max_returns,
        lists=runtime.lists,
    )
    return await _act(runtime, use_case)


@router.post(
    "/v1/tasks/{task_id}/request-extension",
    response_model=TaskView,
    summary="Ask the coordinator for more time (延期申请) before the reply deadline",
    responses=_ACTION_ERRORS,
)
async def request_extension(
    task_id: uuid.UUID,
    body: ExtensionIn,
    runtime: RoutingRuntime,
    department: DepartmentDep,
    version: IfMatch = None,
) -> TaskView:
    use_case = _department_action(
        service.request_extension,
        runtime,
        department,
        task_id,
        version,
        requested=TimeLimit.parse(body.requested),
        reason=body.reason,
    )
    return await _act(runtime, use_case)


@router.post(
    "/v1/summons/{summons_id}/arrival",
    response_model=SummonsView,
    summary="The summoned department reports on site (报到); its co-handler task is signed",
    responses={404: {"description": "no such summons for this department"}},
)
async def arrive(
    summons_id: uuid.UUID, runtime: RoutingRuntime, department: DepartmentDep
) -> SummonsView:
    try:
        async with runtime.sessions() as session, session.begin():
            summons = await service.report_arrival(
                session,
                runtime.outbox,
                summons_id,
                department_id=department.department_id,
                now=runtime.clock.now(),
            )
    except service.TaskNotFound as exc:
        raise HTTPException(404, "no such summons for this department") from exc
    runtime.outbox.notify()
    return SummonsView.model_validate(summons, from_attributes=True)
