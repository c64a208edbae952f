"""The three lists (三张清单) as validated configuration: units, departments, matters, power list.

This is the walking-skeleton sample; the full city lists replace it without changing the shape
of `Lists`. Loading fails loudly on any dangling reference, so a broken list never goes live.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.events import DemandType, Urgency
from contracts.jurisdiction import Level, UnitCode, chain_of, level_of

SAMPLE_LISTS = Path(__file__).parent / "sample_city.json"


class _Closed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Unit(_Closed):
    code: UnitCode
    name: str

    @property
    def level(self) -> Level:
        return level_of(self.code)


class Department(_Closed):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{2,80}$")
    type: str
    unit_code: UnitCode
    name: str


class StageLimits(_Closed):
    """Time limits in calendar hours (the business calendar arrives with the full lists)."""

    sign_hours: float = Field(gt=0)
    reply_hours: float = Field(gt=0)


class Matter(_Closed):
    code: str = Field(pattern=r"^[A-Z0-9.-]{2,40}$")
    name: str
    keywords: tuple[str, ...] = Field(min_length=1)
    demand_type: DemandType
    urgency: Urgency
    limits: dict[Urgency, StageLimits]
    handling_level: Level
    legal_basis: str

    @model_validator(mode="after")
    def _limits_for_every_urgency(self) -> Matter:
        missing = [u.value for u in Urgency if u not in self.limits]
        if missing:
            raise ValueError(f"matter {self.code} has no limits for urgency {missing}")
        return self


class PowerRule(_Closed):
    """(matter, level) -> lead department type and co-handler types."""

    matter_code: str
    level: Level
    lead_type: str
    co_handler_types: tuple[str, ...] = ()


class Lists(_Closed):
    version: str
    city_code: UnitCode
    units: tuple[Unit, ...]
    department_types: dict[str, str] = Field(description="type code -> display name")
    departments: tuple[Department, ...]
    matters: tuple[Matter, ...]
    power: tuple[PowerRule, ...]

    @model_validator(mode="after")
    def _references_resolve(self) -> Lists:
        codes = {u.code for u in self.units}
        errors: list[str] = []
        for unit in self.units:
            for ancestor in chain_of(unit.code)[1:]:
                if ancestor not in codes:
                    errors.append(f"unit {unit.code}: parent {ancestor} is not listed")
        for dept in self.departments:
            if dept.unit_code not in codes:
                errors.append(f"department {dept.id}: unit {dept.unit_code} is not listed")
            if dept.type not in self.department_types:
                errors.append(f"department {dept.id}: unknown type {dept.type}")
        matter_codes = {m.code for m in self.matters}
        for rule in self.power:
            if rule.matter_code not in matter_codes:
                errors.append(f"power rule: unknown matter {rule.matter_code}")
            for dept_type in (rule.lead_type, *rule.co_handler_types):
                if dept_type not in self.department_types:
                    errors.append(f"power rule {rule.matter_code}: unknown type {dept_type}")
        for matter in self.matters:
            if not any(r.matter_code == matter.code for r in self.power):
                errors.append(f"matter {matter.code} has no power rule")
        for kind, ids in (
            ("unit", [u.code for u in self.units]),
            ("department", [d.id for d in self.departments]),
            ("matter", [m.code for m in self.matters]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                errors.append(f"duplicate {kind} ids: {dupes}")
        if errors:
            raise ValueError("; ".join(errors))
        return self

    @cached_property
    def units_by_code(self) -> dict[str, Unit]:
        return {u.code: u for u in self.units}

    @cached_property
    def matters_by_code(self) -> dict[str, Matter]:
        return {m.code: m for m in self.matters}

    @cached_property
    def departments_by_id(self) -> dict[str, Department]:
        return {d.id: d for d in self.departments}

    def department_of_type(self, dept_type: str, unit_code: str) -> Department | None:
        for dept in self.departments:
            if dept.type == dept_type and dept.unit_code == unit_code:
                return dept
        return None

    def power_rule(self, matter_code: str, level: Level) -> PowerRule | None:
        for rule in self.power:
            if rule.matter_code == matter_code and rule.level is level:
                return rule
        return None


def load_lists(path: Path = SAMPLE_LISTS) -> Lists:
    return Lists.model_validate_json(path.read_text(encoding="utf-8"))
