"""Topic names. Pipeline topics are fixed; department and escalation topics follow the chain.

Department-facing topics are one per city (for city-level departments) and one per district
(for every department at district, street and community level beneath it), so the topic count
grows with districts, not with departments x communities. Headers carry the exact unit and
department, so a consumer filters without decoding the body.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from contracts.jurisdiction import Level, city_of, district_of, level_of

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


def dlq(topic: str) -> str:
    """The dead-letter topic of a consumed topic."""
    return topic + DLQ_SUFFIX


@functools.lru_cache(maxsize=8192)
def _chain_topic(prefix: str, unit_code: str) -> str:
    district = district_of(unit_code)
    if district is None:
        return f"{prefix}.{city_of(unit_code)}"
    return f"{prefix}.{city_of(unit_code)}.{district}"


def tasks_topic(unit_code: str) -> str:
    """Topic carrying the tasks of departments at `unit_code`: `tasks.<city4>[.<district6>]`."""
    return _chain_topic("tasks", unit_code)


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


def chain_topics(unit_codes: Iterable[str]) -> list[str]:
    """Every department and escalation topic needed for the given units, sorted."""
    names: set[str] = set()
    for code in unit_codes:
        if level_of(code) is Level.province:
            continue
        names.add(tasks_topic(code))
        names.add(escalations_topic(code))
    return sorted(names)


def all_topics(unit_codes: Iterable[str]) -> list[str]:
    """Pipeline topics, their dead-letter topics, the chain topics of the units and the
    dead-letter topics of the task topics (feedback consumes them: a poison record there must
    have somewhere to go, since a broker that does not create topics on demand would otherwise
    hold the consumer on it)."""
    pipeline = [*PIPELINE_TOPICS, *(dlq(t) for t in PIPELINE_TOPICS)]
    chain = chain_topics(unit_codes)
    task_dlqs = sorted(dlq(t) for t in chain if t.startswith("tasks."))
    return pipeline + chain + task_dlqs
