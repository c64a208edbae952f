"""The three lists as one validated, versioned snapshot: jurisdiction registry, departments,
matter catalogue, power list, data list and business calendar. Built only by the loader."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from contracts.events import DemandType, Urgency
from contracts.jurisdiction import Level, chain_of, level_of
from contracts.lists.calendar import BusinessCalendar, TimeLimit


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    level: Level = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", level_of(self.code))  # derived once, from the code


@dataclass(frozen=True, slots=True)
class DepartmentType:
    code: str
    name: str
    templates: Mapping[Level, str | Mapping[str, str]]

    @property
    def levels(self) -> frozenset[Level]:
        return frozenset(self.templates)


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    type: str
    unit_code: str
    name: str


@dataclass(frozen=True, slots=True)
class StageLimits:
    sign: TimeLimit
    first_contact: TimeLimit
    reply: TimeLimit


@dataclass(frozen=True, slots=True)
class Matter:
    code: str
    name: str
    category: str
    demand_types: tuple[DemandType, ...]
    keywords: tuple[str, ...]
    examples: tuple[str, ...]
    urgency: Urgency
    limits_profile: str
    limits: Mapping[Urgency, StageLimits]
    handling_level: Level
    legal_basis: str

    @property
    def demand_type(self) -> DemandType:
        """The default type: the first the matter covers."""
        return self.demand_types[0]


@dataclass(frozen=True, slots=True)
class PowerRule:
    """(matter, level) -> lead type and co-handler types; `lead None` means explicitly no owner."""

    matter_code: str
    level: Level
    lead: str | None
    co_handlers: tuple[str, ...] = ()
    same_as: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Override:
    """Replaces the rule for one unit and everything beneath it."""

    matter_code: str
    unit_code: str
    level: Level
    lead: str
    co_handlers: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class SummonRule:
    """吹哨清单: on a matter, the department types at `level` that a coordinator beneath that
    level may summon (吹哨报到) to a demand of its area, besides those the rules make owners."""

    matter_code: str
    level: Level
    department_types: tuple[str, ...]
    reason: str


# The escalation chain by default: the coordinators above a department's unit, nearest first.
# A city's `supervision` in lists.yaml may name others (a district bureau to the district's own
# 12345 sub-centre first, then the city).
DEFAULT_SUPERVISION: Mapping[Level, tuple[Level, ...]] = {
    Level.city: (Level.city,),
    Level.district: (Level.city,),
    Level.street: (Level.district, Level.city),
    Level.community: (Level.street, Level.district, Level.city),
}


class NoOwner(Exception):
    """No department owns this matter here; the coordinator of the level must act."""


class LocatedAboveHandlingLevel(NoOwner):
    """The demand is located only at a unit above the matter's handling level (a street named
    for a community matter) and the power list has no rule at that unit's level: the place
    must be made precise before anyone owns it."""


@dataclass(frozen=True, slots=True)
class Ownership:
    lead: Department
    co_handlers: tuple[Department, ...]
    level: Level
    rule: str  # which rule decided, stamped on the routing decision


@dataclass(frozen=True, slots=True)
class DataList:
    """Which demand fields each role may see (数据清单)."""

    fields: Mapping[str, str]
    roles: Mapping[str, frozenset[str]]

    def apply(self, role: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The payload with only the fields `role` may see; unknown fields are dropped too."""
        allowed = self.roles.get(role)
        if allowed is None:
            raise KeyError(f"the data list has no role {role!r}")
        return {key: value for key, value in payload.items() if key in allowed}


@dataclass(frozen=True, eq=False)  # identity: one snapshot is one object
class Lists:
    version: str
    city_code: str
    units: tuple[Unit, ...]
    department_types: Mapping[str, DepartmentType]
    departments: tuple[Department, ...]
    matters: tuple[Matter, ...]
    rules: Mapping[tuple[str, Level], PowerRule]
    overrides: tuple[Override, ...]
    data_list: DataList
    calendar: BusinessCalendar
    summon_rules: tuple[SummonRule, ...] = ()
    supervision: Mapping[Level, tuple[Level, ...]] = field(
        default_factory=lambda: dict(DEFAULT_SUPERVISION)
    )

    @cached_property
    def units_by_code(self) -> dict[str, Unit]:
        return {u.code: u for u in self.units}

    @cached_property
    def matters_by_code(self) -> dict[str, Matter]:
        return {m.code: m for m in self.matters}

    @cached_property
    def departments_by_id(self) -> dict[str, Department]:
        return {d.id: d for d in self.departments}

    @cached_property
    def _departments_by_type_unit(self) -> dict[tuple[str, str], Department]:
        return {(d.type, d.unit_code): d for d in self.departments}

    @cached_property
    def _children(self) -> dict[str, list[Unit]]:
        children: dict[str, list[Unit]] = {}
        for unit in self.units:
            if unit.code != self.city_code:
                children.setdefault(chain_of(unit.code)[1], []).append(unit)
        return children

    def children(self, code: str) -> list[Unit]:
        return list(self._children.get(code, []))

    def department_of_type(self, dept_type: str, unit_code: str) -> Department | None:
        return self._departments_by_type_unit.get((dept_type, unit_code))

    def departments_of_unit(self, unit_code: str) -> list[Department]:
        return [d for d in self.departments if d.unit_code == unit_code]

    def supervision_chain(self, unit_code: str) -> list[str]:
        """The coordinators a late department of this unit climbs to, nearest first, ending at
        the city: the units of its own chain at the levels `supervision` names."""
        levels = self.supervision.get(level_of(unit_code)) or DEFAULT_SUPERVISION[Level.city]
        by_level = {level_of(code): code for code in chain_of(unit_code)}
        return [by_level[at] for at in levels if at in by_level]

    def summonable(self, matter_code: str, unit_code: str) -> dict[str, str]:
        """The departments a coordinator may summon to a demand of this matter at this unit,
        whatever their level: every owner the power list names on the unit's chain (lead and
        co-handlers of each level's rule, an override's) and the supporting departments of the
        summons list. Department id -> the rule that makes it summonable."""
        found: dict[str, str] = {}
        chain = chain_of(unit_code)
        for code in chain:
            at = level_of(code)
            rule = self.rule(matter_code, at)
            if rule is not None and rule.lead is not None:
                for dept_type in (rule.lead, *rule.co_handlers):
                    self._summonable_at(found, dept_type, code, f"power:{matter_code}@{at.value}")
            for each in self.summon_rules:
                if each.matter_code == matter_code and each.level is at:
                    for dept_type in each.department_types:
                        self._summonable_at(
                            found, dept_type, code, f"summons:{matter_code}@{at.value}"
                        )
        for override in self.overrides:
            if override.matter_code == matter_code and override.unit_code in chain:
                target = next((c for c in chain if level_of(c) is override.level), None)
                for dept_type in (override.lead, *override.co_handlers) if target else ():
                    rule_name = f"override:{matter_code}@{override.unit_code}"
                    self._summonable_at(found, dept_type, str(target), rule_name)
        return found

    def _summonable_at(self, found: dict[str, str], dept_type: str, code: str, why: str) -> None:
        department = self.department_of_type(dept_type, code)
        if department is not None:
            found.setdefault(department.id, why)

    def rule(self, matter_code: str, level: Level) -> PowerRule | None:
        """The rule for a matter at a level, following `same_as` (the loader refuses cycles)."""
        rule = self.rules.get((matter_code, level))
        while rule is not None and rule.same_as is not None:
            rule = self.rules.get((rule.same_as, level))
        return rule

    @cached_property
    def _owners(self) -> dict[tuple[str, str, Level | None], Ownership | NoOwner]:
        return {}

    def owner(self, matter_code: str, unit_code: str, level: Level | None = None) -> Ownership:
        """Who leads and who co-handles a matter arising at a unit (直派 at the handling level,
        or at `level` when classification chose that level's rule on evidence and the power list
        has one there). The lists never change once loaded: each answer is worked out once."""
        key = (matter_code, unit_code, level)
        answer = self._owners.get(key)
        if answer is None:
            try:
                answer = self._owner(matter_code, unit_code, level)
            except NoOwner as exc:
                answer = exc
            if len(self._owners) < 100_000:
                self._owners[key] = answer
        if isinstance(answer, NoOwner):
            raise type(answer)(str(answer))
        return answer

    def _owner(self, matter_code: str, unit_code: str, chosen: Level | None) -> Ownership:
        matter = self.matters_by_code.get(matter_code)
        if matter is None:
            raise NoOwner(f"matter {matter_code} is not in the catalogue {self.version}")
        chain = chain_of(unit_code)
        for code in chain:  # the most specific override wins
            for override in self.overrides:
                if override.matter_code == matter_code and override.unit_code == code:
                    return self._resolve(
                        chain, override.level, override.lead, override.co_handlers,
                        f"override:{matter_code}@{code}->{override.lead}",
                    )  # fmt: skip
        on_evidence = self._at_chosen_level(matter, chain, chosen)
        if on_evidence is not None:
            return on_evidence
        level = matter.handling_level
        why = ""
        if not any(level_of(code) is level for code in chain):
            # Located only above the handling level (an address naming just a street): the
            # power list's rule at the unit's own level, when it has one. Never a rule above
            # the unit (that would skip the level the citizen named), nor below it (which one?).
            handling, level = level, level_of(unit_code)
            if self.rule(matter_code, level) is None:
                raise LocatedAboveHandlingLevel(
                    f"unit {unit_code} lies above the handling level {handling.value} of"
                    f" {matter_code}, and the power list has no rule at level {level.value}"
                )
            why = f" (only a {level.value} named; handling level {handling.value})"
        rule = self.rule(matter_code, level)
        if rule is None:
            raise NoOwner(f"the power list has no rule for {matter_code} at level {level.value}")
        if rule.lead is None:
            raise NoOwner(rule.reason or f"no department owns {matter_code} at level {level.value}")
        return self._resolve(
            chain,
            level,
            rule.lead,
            rule.co_handlers,
            f"power:{matter_code}@{level.value}->{rule.lead}{why}",
        )

    def _at_chosen_level(
        self, matter: Matter, chain: list[str], chosen: Level | None
    ) -> Ownership | None:
        """A level chosen on evidence counts only where the power list has a rule with a lead
        there, on the demand's own chain; otherwise (None) the handling level decides."""
        if chosen is None or chosen is matter.handling_level:
            return None
        rule = self.rule(matter.code, chosen)
        if rule is None or rule.lead is None or not any(level_of(c) is chosen for c in chain):
            return None
        return self._resolve(
            chain,
            chosen,
            rule.lead,
            rule.co_handlers,
            f"power:{matter.code}@{chosen.value}->{rule.lead}"
            f" (level chosen on evidence; handling level {matter.handling_level.value})",
        )

    def _resolve(
        self, chain: list[str], level: Level, lead: str, co_handlers: tuple[str, ...], rule: str
    ) -> Ownership:
        target = next((code for code in chain if level_of(code) is level), None)
        if target is None:
            raise NoOwner(f"unit {chain[0]} lies above the handling level {level.value}")
        department = self.department_of_type(lead, target)
        if department is None:
            raise NoOwner(f"no {lead} department at unit {target}")
        co = tuple(
            d for d in (self.department_of_type(t, target) for t in co_handlers) if d is not None
        )
        return Ownership(lead=department, co_handlers=co, level=level, rule=rule)
