import re

import pytest

from contracts.jurisdiction import Level, chain_of, level_of, parent_of, validate_code
from contracts.lists import load_lists
from contracts.topics import (
    all_topics,
    dlq,
    escalations_pattern,
    escalations_topic,
    is_tasks_topic,
    tasks_topic,
)


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("330000000000", Level.province),
        ("330500000000", Level.city),
        ("330502000000", Level.district),
        ("330502001000", Level.street),
        ("330502001016", Level.community),
        ("330502100011", Level.community),  # a village under a town
    ],
)
def test_level_is_read_from_the_code(code, level):
    assert level_of(code) is level


def test_chain_of_a_community_climbs_to_the_city():
    assert chain_of("330502001002") == [
        "330502001002",
        "330502001000",
        "330502000000",
        "330500000000",
    ]


def test_chain_of_a_village_climbs_through_township_and_county():
    assert chain_of("330521101203") == [
        "330521101203",
        "330521101000",
        "330521000000",
        "330500000000",
    ]


def test_parent_of_province_is_none():
    assert parent_of("330000000000") is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("33050200100", "exactly 12 digits"),
        ("3305020010161", "exactly 12 digits"),
        ("33050200101x", "exactly 12 digits"),
        ("330502001016\n", "exactly 12 digits"),  # `$` of Python's re lets this through
        ("３３０５０２００１０１６", "exactly 12 digits"),  # full-width: `\d` takes them
        ("000502001016", "province"),
        ("330500001000", "skip a level"),
        ("330502000016", "skip a level"),
    ],
)
def test_malformed_codes_are_refused(code, reason):
    with pytest.raises(ValueError, match=reason):
        validate_code(code)


def test_each_department_has_a_task_topic_of_its_own_under_its_district():
    assert (
        tasks_topic("330502001016", "330502001016.community_committee")
        == "tasks.3305.330502.330502001016.community_committee"
    )
    assert (
        tasks_topic("330502000000", "330502000000.urban_management")
        == "tasks.3305.330502.330502000000.urban_management"
    )
    assert tasks_topic("330500000000", "330500000000.education") == (
        "tasks.3305.330500000000.education"
    )
    assert escalations_topic("330502001016") == "escalations.3305.330502"


def test_city_pattern_sees_every_escalation_beneath_it_and_nothing_else():
    pattern = re.compile(escalations_pattern("330500000000"))
    assert pattern.match("escalations.3305")
    assert pattern.match("escalations.3305.330502")
    assert pattern.match("escalations.3305.330521")
    assert not pattern.match("escalations.33050")
    assert not pattern.match("escalations.3306.330602")
    assert not pattern.match("tasks.3305.330502")


def test_district_pattern_sees_only_its_own_topic():
    pattern = re.compile(escalations_pattern("330502000000"))
    assert pattern.match("escalations.3305.330502")
    assert not pattern.match("escalations.3305.330503")
    assert not pattern.match("escalations.3305")


def test_one_task_topic_per_department_and_one_dead_letter_topic_for_them_all():
    lists = load_lists()
    names = all_topics(lists)
    tasks = [t for t in names if is_tasks_topic(t)]
    assert len(tasks) == len(set(tasks)) == len(lists.departments)
    # escalations stay one per city and district: a coordinator reads its whole area
    assert [t for t in names if t.startswith("escalations")] == [
        "escalations.3305",
        "escalations.3305.330502",
        "escalations.3305.330503",
        "escalations.3305.330521",
        "escalations.3305.330522",
        "escalations.3305.330523",
    ]
    # feedback consumes the task topics: their poison records go to the city's one topic
    assert {dlq(t) for t in tasks} == {"tasks.3305.dlq"}
    assert names[-1] == "tasks.3305.dlq"
    assert not is_tasks_topic("tasks.3305.dlq")
    assert dlq("demand.received") == "demand.received.dlq"
