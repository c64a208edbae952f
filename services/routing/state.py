"""The task state machine. Every action names the states it may start from and where it leads;
anything else is refused with the reason (HTTP 409)."""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    assigned = "assigned"
    signed = "signed"  # 签收
    replied = "replied"  # 办结
    closed = "closed"  # after the citizen's evaluation


class TaskAction(StrEnum):
    sign = "sign"
    reply = "reply"
    close = "close"


_TRANSITIONS: dict[TaskAction, tuple[frozenset[TaskState], TaskState]] = {
    TaskAction.sign: (frozenset({TaskState.assigned}), TaskState.signed),
    TaskAction.reply: (frozenset({TaskState.signed}), TaskState.replied),
    TaskAction.close: (frozenset({TaskState.replied}), TaskState.closed),
}

_HINTS: dict[tuple[TaskAction, TaskState], str] = {
    (TaskAction.reply, TaskState.assigned): "sign the task before replying",
    (TaskAction.sign, TaskState.signed): "the task is already signed",
    (TaskAction.reply, TaskState.replied): "the task is already replied",
    (TaskAction.close, TaskState.assigned): "only a replied task can be closed",
    (TaskAction.close, TaskState.signed): "only a replied task can be closed",
}


class TransitionRefused(Exception):
    def __init__(self, action: TaskAction, state: TaskState) -> None:
        hint = _HINTS.get(
            (action, state), f"{action.value} is not allowed once a task is {state.value}"
        )
        super().__init__(f"cannot {action.value} a task in state {state.value}: {hint}")
        self.action = action
        self.state = state


def next_state(state: TaskState, action: TaskAction) -> TaskState:
    allowed_from, target = _TRANSITIONS[action]
    if state not in allowed_from:
        raise TransitionRefused(action, state)
    return target
