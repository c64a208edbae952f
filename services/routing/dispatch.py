"""Dispatch: the power list names the lead department for a demand's matter and unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.events import Urgency
from contracts.jurisdiction import chain_of, level_of
from contracts.lists import Department, Lists


class NoOwner(Exception):
    """No department owns this matter here; the coordinator of the level must act."""


@dataclass(frozen=True, slots=True)
class Assignment:
    department: Department
    rule: str
    lists_version: str


@dataclass(frozen=True, slots=True)
class Deadlines:
    sign_due_at: datetime
    reply_due_at: datetime


def choose_lead(lists: Lists, *, matter_code: str, unit_code: str) -> Assignment:
    matter = lists.matters_by_code.get(matter_code)
    if matter is None:
        raise NoOwner(f"matter {matter_code} is not in the catalogue {lists.version}")
    level = matter.handling_level
    # Direct dispatch (直派) to the unit on the demand's chain at the matter's handling level.
    target = next((code for code in chain_of(unit_code) if level_of(code) is level), None)
    if target is None:
        raise NoOwner(
            f"unit {unit_code} lies above the handling level {level.value} of {matter_code}"
        )
    rule = lists.power_rule(matter_code, level)
    if rule is None:
        raise NoOwner(f"the power list has no rule for {matter_code} at level {level.value}")
    department = lists.department_of_type(rule.lead_type, target)
    if department is None:
        raise NoOwner(f"no {rule.lead_type} department at unit {target}")
    return Assignment(
        department=department,
        rule=f"power:{matter_code}@{level.value}->{rule.lead_type}",
        lists_version=lists.version,
    )


def deadlines(lists: Lists, *, matter_code: str, urgency: Urgency, now: datetime) -> Deadlines:
    limits = lists.matters_by_code[matter_code].limits[urgency]
    return Deadlines(
        sign_due_at=now + timedelta(hours=limits.sign_hours),
        reply_due_at=now + timedelta(hours=limits.reply_hours),
    )
