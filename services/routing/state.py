"""The task state machine. Every action names the states it may start from and where it leads;
anything else is refused with the reason (HTTP 409).

    assigned -> signed -> contacted -> replied -> closed        (lead)
    assigned -> signed -> replied -> closed                      (co-handler: no citizen contact)
    replied -> contacted                                         (重办: the citizen sent it back)
    assigned | signed -> returned                                (退单, within the window)
    co-handler task -> superseded                                (its department became the lead)
    lead task before its reply -> superseded                     (a coordinator reassigned it)
"""

from __future__ import annotations

from enum import StrEnum

from contracts.events import TaskRole


class TaskState(StrEnum):
    assigned = "assigned"
    signed = "signed"  # 签收
    contacted = "contacted"  # 先行联系
    replied = "replied"  # 办结
    closed = "closed"  # after the citizen's evaluation
    returned = "returned"  # 退单
    superseded = "superseded"  # withdrawn: reassigned, or its co-handler department now leads


# The states in which the lead may ask for, and be granted, more time (延期).
EXTENDABLE_STATES = frozenset({TaskState.signed.value, TaskState.contacted.value})


class TaskAction(StrEnum):
    sign = "sign"
    contact = "contact"
    reply = "reply"
    return_task = "return"
    close = "close"
    supersede = "supersede"
    redo = "redo"  # 重办: the citizen sent the reply back


_S = TaskState
_TRANSITIONS: dict[tuple[TaskAction, TaskRole], tuple[frozenset[TaskState], TaskState]] = {
    (TaskAction.sign, TaskRole.lead): (frozenset({_S.assigned}), _S.signed),
    (TaskAction.sign, TaskRole.co_handler): (frozenset({_S.assigned}), _S.signed),
    (TaskAction.contact, TaskRole.lead): (frozenset({_S.signed}), _S.contacted),
    (TaskAction.reply, TaskRole.lead): (frozenset({_S.contacted}), _S.replied),
    (TaskAction.reply, TaskRole.co_handler): (frozenset({_S.signed}), _S.replied),
    (TaskAction.return_task, TaskRole.lead): (frozenset({_S.assigned, _S.signed}), _S.returned),
    (TaskAction.close, TaskRole.lead): (frozenset({_S.replied}), _S.closed),
    (TaskAction.close, TaskRole.co_handler): (frozenset({_S.replied}), _S.closed),
    (TaskAction.redo, TaskRole.lead): (frozenset({_S.replied}), _S.contacted),
    (TaskAction.supersede, TaskRole.co_handler): (
        frozenset({_S.assigned, _S.signed}),
        _S.superseded,
    ),
    (TaskAction.supersede, TaskRole.lead): (
        frozenset({_S.assigned, _S.signed, _S.contacted}),
        _S.superseded,
    ),
}

_HINTS: dict[tuple[TaskAction, TaskState], str] = {
    (TaskAction.reply, _S.assigned): "sign the task before replying",
    (TaskAction.reply, _S.signed): "contact the citizen (先行联系) before replying",
    (TaskAction.contact, _S.assigned): "sign the task before contacting the citizen",
    (TaskAction.sign, _S.signed): "the task is already signed",
    (TaskAction.reply, _S.replied): "the task is already replied",
    (TaskAction.return_task, _S.contacted): "a task whose citizen was contacted cannot be returned",
    (TaskAction.close, _S.assigned): "only a replied task can be closed",
    (TaskAction.close, _S.signed): "only a replied task can be closed",
}


class TransitionRefused(Exception):
    def __init__(
        self, action: TaskAction, state: TaskState, role: TaskRole, hint: str | None = None
    ) -> None:
        if hint is None:
            hint = _HINTS.get((action, state))
        if hint is None and (action, role) not in _TRANSITIONS:
            hint = f"a {role.value.replace('_', '-')} task cannot {action.value}"
        hint = hint or f"{action.value} is not allowed once a task is {state.value}"
        super().__init__(f"cannot {action.value} a task in state {state.value}: {hint}")
        self.action = action
        self.state = state


def next_state(state: TaskState, action: TaskAction, role: TaskRole = TaskRole.lead) -> TaskState:
    transition = _TRANSITIONS.get((action, role))
    if transition is None or state not in transition[0]:
        raise TransitionRefused(action, state, role)
    return transition[1]
