"""The chaos run's verdicts on a demand (tests/chaos): what counts as settled, as troubled."""

from datetime import UTC, datetime

from tests.chaos.check import unsettled
from tests.chaos.load import Load, Posted


def _post(number: int, demand_id: str | None, *, answers: list[int], closed: bool = False):
    post = Posted(number, f"k{number}", datetime.now(UTC), {}, demand_id=demand_id)
    post.answers, post.closed_by_worker = answers, closed
    return post


def test_a_demand_is_settled_only_in_a_final_state_with_a_place_to_be():
    load = Load("http://127.0.0.1:1", rate=1)
    load.posted = [
        _post(0, "a", answers=[201]),
        _post(1, "b", answers=[201]),
        _post(2, "c", answers=[201]),
        _post(3, "d", answers=[201], closed=True),
        _post(4, "e", answers=[201], closed=True),
        _post(5, None, answers=[503, 503]),  # never accepted: not the check's business
    ]
    found = {
        "a": ("assigned", 1, False),
        "b": ("triage", 0, True),
        "c": ("received", 0, False),  # accepted, never routed: lost in the pipeline
        "d": ("closed", 1, False),
        "e": ("replied", 1, False),  # the department's round closed it: must read closed
    }
    left = unsettled(found, load)
    assert [each.split()[0] for each in left] == ["c", "e"]


def test_an_assigned_demand_without_its_lead_task_is_not_settled():
    load = Load("http://127.0.0.1:1", rate=1)
    load.posted = [_post(0, "a", answers=[201])]
    assert unsettled({"a": ("assigned", 0, False)}, load)


def test_a_demand_answered_5xx_or_not_at_all_is_troubled_even_if_accepted_later():
    assert _post(0, "a", answers=[0, 201]).troubled
    assert _post(1, "b", answers=[503, 201]).troubled
    assert not _post(2, "c", answers=[201]).troubled
    assert not _post(3, None, answers=[422]).troubled
