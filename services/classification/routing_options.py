"""The ways the power list offers to route a matter at a unit — a (matter, level) whose rule
names a lead department type — worked out once per lists snapshot and shape of chain."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from contracts.jurisdiction import Level, chain_of, level_of
from contracts.lists import Lists, Matter, NoOwner

_LEVELS = (Level.community, Level.street, Level.district, Level.city)


@dataclass(frozen=True, slots=True)
class Option:
    """A (matter, level) whose power-list rule names a lead type: one way to route."""

    matter: Matter
    level: Level
    department_type: str


def options(lists: Lists, matter: Matter, unit_code: str) -> list[Option]:
    """The levels on the unit's chain at which the power list names a lead for the matter
    (an override of the unit's chain replaces them all, as `Lists.owner` does)."""
    try:
        chosen = lists.owner(matter.code, unit_code)
    except NoOwner:  # nobody at the handling level; other levels may have a rule
        chosen = None
    found: list[Option] = []
    if chosen is not None and chosen.rule.startswith("override:"):
        return [Option(matter, chosen.level, chosen.lead.type)]
    chain_levels = {level_of(code) for code in chain_of(unit_code)}
    for level in _LEVELS:
        if level not in chain_levels:
            continue
        rule = lists.rule(matter.code, level)
        if rule is not None and rule.lead is not None:
            found.append(Option(matter, level, rule.lead))
    return found


@lru_cache(maxsize=4)
def rule_leads(lists: Lists) -> dict[str, tuple[tuple[Level, str], ...]]:
    """Each matter's (level, lead type) over the power list's rules: once per lists snapshot."""
    leads: dict[str, tuple[tuple[Level, str], ...]] = {}
    for matter in lists.matters:
        found = []
        for level in _LEVELS:
            rule = lists.rule(matter.code, level)
            if rule is not None and rule.lead is not None:
                found.append((level, rule.lead))
        leads[matter.code] = tuple(found)
    return leads


@lru_cache(maxsize=16384)
def chain_shape(lists: Lists, unit_code: str) -> tuple[object, ...]:
    """What the options of a unit depend on: the levels of its chain and the overrides on it."""
    chain = chain_of(unit_code)
    on_chain = set(chain)
    return (
        tuple(level_of(code) for code in chain),
        tuple((o.matter_code, o.unit_code) for o in lists.overrides if o.unit_code in on_chain),
    )
