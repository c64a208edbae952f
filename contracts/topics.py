"""Topic names. Pipeline topics are fixed; task and escalation topics follow the chain.

A department's tasks go to a topic of its own, `tasks.<city4>[.<district6>].<department id>`:
Kafka authorises per topic, so only a topic per department lets one department's credentials
read its tasks and none of its neighbours' (docs/kafka.md weighs this against district topics).
The city and district in the name keep a district's topics under one prefix, for a prefixed ACL
or a pattern subscription. Escalation topics stay one per city and one per district: a
coordinator reads its whole area. Headers carry the exact unit and department.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from contracts.jurisdiction import Level, city_of, district_of, level_of

if TYPE_CHECKING:
    from contracts.lists import Lists

DEMAND_RECEIVED = "demand.received"
DEMAND_CLASSIFIED = "demand.classified"
DEMAND_TRIAGE = "demand.triage"
DEMAND_STATUS = "demand.status"
DEMAND_EVALUATED = "demand.evaluated"
CITIZEN_NOTIFICATIONS = "citizen.notifications"

PIPELINE_TOPICS = (
    DEMAND_RECEIVED,
    DEMAND_CLASSIFIED,
    DEMAND_TRIAGE,
    DEMAND_STATUS,
    DEMAND_EVALUATED,
    CITIZEN_NOTIFICATIONS,
)

DLQ_SUFFIX = ".dlq"


# tasks.<city4>[.<district6>].<unit code12>.<department type>
_DEPARTMENT_TOPIC = re.compile(r"^tasks\.(\d{4})(\.\d{6})?\.\d{12}\.[A-Za-z0-9_-]+$")


def is_tasks_topic(topic: str) -> bool:
    """Whether `topic` is a department's task topic."""
    return _DEPARTMENT_TOPIC.match(topic) is not None


def dlq(topic: str) -> str:
    """The dead-letter topic of a consumed topic: `<topic>.dlq`, except that the task topics of a
    city share `tasks.<city4>.dlq` (only feedback consumes them inside Liandong, and a topic per
    department's dead letters would double the topic count for records that almost never come)."""
    match = _DEPARTMENT_TOPIC.match(topic)
    if match is not None:
        return f"tasks.{match.group(1)}{DLQ_SUFFIX}"
    return topic + DLQ_SUFFIX


@functools.lru_cache(maxsize=8192)
def _chain_topic(prefix: str, unit_code: str) -> str:
    district = district_of(unit_code)
    if district is None:
        return f"{prefix}.{city_of(unit_code)}"
    return f"{prefix}.{city_of(unit_code)}.{district}"


def tasks_topic(unit_code: str, department_id: str) -> str:
    """Topic carrying the tasks of one department at `unit_code`:
    `tasks.<city4>[.<district6>].<department id>`."""
    return f"{_chain_topic('tasks', unit_code)}.{department_id}"


def district_tasks_prefix(unit_code: str) -> str:
    """The prefix of every task topic of the departments at or beneath a city's own level or a
    district (`tasks.<city4>.` covers the whole city, districts included)."""
    return _chain_topic("tasks", unit_code) + "."


def escalations_topic(unit_code: str) -> str:
    """Topic carrying escalations raised at `unit_code`: `escalations.<city4>[.<district6>]`."""
    return _chain_topic("escalations", unit_code)


def escalations_pattern(unit_code: str) -> str:
    """Regex subscribing to every escalation topic at or beneath a city or district."""
    level = level_of(unit_code)
    if level is Level.city:
        return rf"^escalations\.{re.escape(city_of(unit_code))}(\..*)?$"
    if level is Level.district:
        return rf"^{re.escape(escalations_topic(unit_code))}$"
    raise ValueError("escalation patterns are defined for a city or a district")


def escalation_topics(unit_codes: Iterable[str]) -> list[str]:
    """Every escalation topic needed for the given units, sorted."""
    return sorted(
        {escalations_topic(code) for code in unit_codes if level_of(code) is not Level.province}
    )


def department_topics(lists: Lists) -> list[str]:
    """The task topic of every department of the lists, sorted."""
    return sorted(tasks_topic(d.unit_code, d.id) for d in lists.departments)


def all_topics(lists: Lists) -> list[str]:
    """Pipeline topics and their dead-letter topics, the escalation topics of the lists' units,
    every department's task topic, and the dead-letter topic of the task topics of each city
    (feedback consumes them: a poison record there must have somewhere to go, since a broker
    that does not create topics on demand would otherwise hold the consumer on it)."""
    pipeline = [*PIPELINE_TOPICS, *(dlq(t) for t in PIPELINE_TOPICS)]
    escalations = escalation_topics(u.code for u in lists.units)
    tasks = department_topics(lists)
    return pipeline + escalations + tasks + sorted({dlq(t) for t in tasks})
