import pytest

from contracts.events import TaskRole
from services.routing.state import TaskAction, TaskState, TransitionRefused, next_state


def test_lead_path_assigned_signed_contacted_replied_closed():
    state = TaskState.assigned
    for action, expected in [
        (TaskAction.sign, TaskState.signed),
        (TaskAction.contact, TaskState.contacted),
        (TaskAction.reply, TaskState.replied),
        (TaskAction.close, TaskState.closed),
    ]:
        state = next_state(state, action)
        assert state is expected


def test_reply_before_sign_is_refused_with_the_reason():
    with pytest.raises(TransitionRefused, match="sign the task before replying"):
        next_state(TaskState.assigned, TaskAction.reply)


def test_lead_replies_only_after_first_contact():
    with pytest.raises(TransitionRefused, match="contact the citizen"):
        next_state(TaskState.signed, TaskAction.reply)


def test_co_handler_replies_without_contacting_the_citizen_and_cannot_return():
    assert next_state(TaskState.signed, TaskAction.reply, TaskRole.co_handler) is TaskState.replied
    with pytest.raises(TransitionRefused, match="co-handler task cannot contact"):
        next_state(TaskState.signed, TaskAction.contact, TaskRole.co_handler)
    with pytest.raises(TransitionRefused, match="co-handler task cannot return"):
        next_state(TaskState.assigned, TaskAction.return_task, TaskRole.co_handler)


def test_return_only_before_the_citizen_is_contacted():
    assert next_state(TaskState.assigned, TaskAction.return_task) is TaskState.returned
    assert next_state(TaskState.signed, TaskAction.return_task) is TaskState.returned
    with pytest.raises(TransitionRefused, match="was contacted cannot be returned"):
        next_state(TaskState.contacted, TaskAction.return_task)


@pytest.mark.parametrize("state", [TaskState.signed, TaskState.replied, TaskState.closed])
def test_sign_only_once(state):
    with pytest.raises(TransitionRefused):
        next_state(state, TaskAction.sign)


def test_closed_task_accepts_nothing():
    for action in (
        TaskAction.sign,
        TaskAction.contact,
        TaskAction.reply,
        TaskAction.return_task,
        TaskAction.close,
    ):
        with pytest.raises(TransitionRefused, match="closed"):
            next_state(TaskState.closed, action)
