import pytest

from services.routing.state import TaskAction, TaskState, TransitionRefused, next_state


def test_happy_path_assigned_to_closed():
    state = TaskState.assigned
    for action, expected in [
        (TaskAction.sign, TaskState.signed),
        (TaskAction.reply, TaskState.replied),
        (TaskAction.close, TaskState.closed),
    ]:
        state = next_state(state, action)
        assert state is expected


def test_reply_before_sign_is_refused_with_the_reason():
    with pytest.raises(TransitionRefused, match="sign the task before replying"):
        next_state(TaskState.assigned, TaskAction.reply)


@pytest.mark.parametrize("state", [TaskState.signed, TaskState.replied, TaskState.closed])
def test_sign_only_once(state):
    with pytest.raises(TransitionRefused):
        next_state(state, TaskAction.sign)


def test_closed_task_accepts_nothing():
    for action in TaskAction:
        with pytest.raises(TransitionRefused, match="closed"):
            next_state(TaskState.closed, action)
