"""Deadlines of a new task from the matter's limits, the urgency and the business calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.events import Urgency
from contracts.lists import Lists
from contracts.lists.calendar import LimitUnit


@dataclass(frozen=True, slots=True)
class Deadlines:
    sign_due_at: datetime
    first_contact_due_at: datetime
    reply_due_at: datetime
    provisional: bool  # computed past the published holiday calendar
    working_clock: bool  # every stage's limit runs in working time (its reminders too)


def working_clock(lists: Lists, *, matter_code: str, urgency: Urgency) -> bool:
    """Whether a demand's limits all run in working time; a matter the lists do not know runs
    by the clock only when critical."""
    matter = lists.matters_by_code.get(matter_code)
    if matter is None:
        return urgency is not Urgency.critical
    limits = matter.limits[urgency]
    return all(
        limit.unit is not LimitUnit.calendar_hours
        for limit in (limits.sign, limits.first_contact, limits.reply)
    )


def deadlines(lists: Lists, *, matter_code: str, urgency: Urgency, now: datetime) -> Deadlines:
    limits = lists.matters_by_code[matter_code].limits[urgency]
    sign = lists.calendar.add(now, limits.sign)
    contact = lists.calendar.add(now, limits.first_contact)
    reply = lists.calendar.add(now, limits.reply)
    return Deadlines(
        sign_due_at=sign.at,
        first_contact_due_at=contact.at,
        reply_due_at=reply.at,
        provisional=sign.provisional or contact.provisional or reply.provisional,
        working_clock=working_clock(lists, matter_code=matter_code, urgency=urgency),
    )
