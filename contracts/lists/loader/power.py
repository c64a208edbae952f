"""The power list (power.yaml): who leads and who helps on each matter at each level, the
per-unit overrides, and the checks that every matter and every rule has an owner."""

from __future__ import annotations

from typing import Any

from contracts.jurisdiction import Level
from contracts.lists.loader.files import Collector, handling_level, level, text
from contracts.lists.model import Department, DepartmentType, Matter, Override, PowerRule, Unit

POWER = "power.yaml"
RuleKey = tuple[str, Level]


class PowerReader:
    """Reads power.yaml against the matters, department types and units already loaded."""

    def __init__(
        self,
        c: Collector,
        matters: list[Matter],
        declared: dict[str, int | None],
        types: dict[str, DepartmentType],
        unit_codes: set[str],
    ) -> None:
        self.c = c
        self.matters = matters
        self.declared = declared
        self.types = types
        self.unit_codes = unit_codes
        self.matter_codes = {m.code for m in matters}
        self.rules: dict[RuleKey, PowerRule] = {}
        self.lines: dict[RuleKey, int | None] = {}
        self.overrides: list[Override] = []

    def read(self) -> None:
        data = self.c.yaml(POWER)
        for line, entry in self.c.items(POWER, data, "rules"):
            self._rule(line, entry)
        self._check_chains()
        self._check_matters_owned()
        for line, entry in self.c.items(POWER, data, "overrides"):
            self._override(line, entry)

    def _known_matter(self, line: int | None, what: str, matter: str) -> bool:
        if matter in self.matter_codes:
            return True
        if matter not in self.declared:  # an invalid matter was reported in matters.yaml
            self.c.add(POWER, line, f"{what}: unknown matter {matter!r}")
        return False

    def _check_types(self, line: int | None, what: str, at: Level, names: list[str]) -> bool:
        ok = True
        for dept_type in names:
            if dept_type not in self.types:
                self.c.add(POWER, line, f"{what}: unknown department type {dept_type!r}")
                ok = False
            elif at not in self.types[dept_type].levels:
                self.c.add(
                    POWER,
                    line,
                    f"{what}: department type {dept_type} has no department at level {at.value}",
                )
                ok = False
        return ok

    def _rule(self, line: int | None, entry: dict[str, Any]) -> None:
        matter, at = text(entry, "matter") or "", handling_level(entry.get("level"))
        what = f"rule {matter}@{entry.get('level')}"
        if not self._known_matter(line, what, matter):
            return
        if at is None:
            self.c.add(POWER, line, f"{what}: unknown level {entry.get('level')!r}")
            return
        if (matter, at) in self.rules:
            first = self.lines[(matter, at)]
            self.c.add(POWER, line, f"{what}: duplicate rule (first on line {first})")
            return
        lead, same_as = text(entry, "lead"), text(entry, "same_as")
        co = [str(t) for t in entry.get("co_handlers") or []]
        if len(set(co)) != len(co) or (lead is not None and lead in co):
            self.c.add(
                POWER, line, f"{what}: a department type is named twice (lead and co-handlers)"
            )
            return
        if not self._owner_named(line, what, at, entry):
            return
        self.rules[(matter, at)] = PowerRule(
            matter, at, lead, tuple(co), same_as, text(entry, "reason")
        )
        self.lines[(matter, at)] = line

    def _owner_named(self, line: int | None, what: str, at: Level, entry: dict[str, Any]) -> bool:
        """A rule names its owner: another matter's rule, a lead, or the reason it has none."""
        lead, same_as = text(entry, "lead"), text(entry, "same_as")
        if same_as is not None:
            if same_as not in self.matter_codes:
                self.c.add(POWER, line, f"{what}: same_as names unknown matter {same_as!r}")
                return False
            return True
        if lead is None:
            if not text(entry, "reason"):
                self.c.add(
                    POWER, line, f"{what}: a rule with no lead must give the 'reason' (no owner)"
                )
                return False
            return True
        co = [str(t) for t in entry.get("co_handlers") or []]
        return self._check_types(line, what, at, [lead, *co])

    def _check_chains(self) -> None:
        """same_as chains must end."""
        for (matter, at), rule in self.rules.items():
            seen = [matter]
            current = rule
            line = self.lines[(matter, at)]
            while current.same_as is not None:
                if current.same_as in seen:
                    cycle = " -> ".join([*seen, current.same_as])
                    self.c.add(POWER, line, f"rule {matter}@{at.value}: same_as cycle {cycle}")
                    break
                seen.append(current.same_as)
                following = self.rules.get((current.same_as, at))
                if following is None:
                    missing = f"same_as {current.same_as} has no rule at level {at.value}"
                    self.c.add(POWER, line, f"rule {matter}@{at.value}: {missing}")
                    break
                current = following

    def _check_matters_owned(self) -> None:
        for each in self.matters:
            if (each.code, each.handling_level) not in self.rules:
                level_name = each.handling_level.value
                self.c.add(
                    "matters.yaml",
                    self.declared.get(each.code),
                    f"matter {each.code} has no owner: no rule in power.yaml at its level "
                    f"{level_name}",
                )

    def _override(self, line: int | None, entry: dict[str, Any]) -> None:
        matter, unit, lead = (
            text(entry, "matter") or "",
            text(entry, "unit") or "",
            text(entry, "lead") or "",
        )
        what = f"override {matter}@{unit}"
        if not self._known_matter(line, what, matter):
            return
        if unit not in self.unit_codes:
            self.c.add(POWER, line, f"{what}: unit {unit!r} is not in the jurisdiction registry")
            return
        matter_level = next(m.handling_level for m in self.matters if m.code == matter)
        at = level(entry.get("level")) if entry.get("level") else matter_level
        if at is None or at is Level.province:
            self.c.add(POWER, line, f"{what}: unknown level {entry.get('level')!r}")
            return
        co = [str(t) for t in entry.get("co_handlers") or []]
        if not self._check_types(line, what, at, [lead, *co]):
            return
        if not text(entry, "reason"):
            self.c.add(POWER, line, f"{what}: give the 'reason' for the override")
            return
        self.overrides.append(Override(matter, unit, at, lead, tuple(co), str(entry["reason"])))


def check_owners(
    c: Collector,
    rule_lines: dict[RuleKey, int | None],
    rules: dict[RuleKey, PowerRule],
    departments: list[Department],
    units: list[Unit],
) -> None:
    """Every unit at a rule's level must have a department of each type the rule names."""
    have = {(d.type, d.unit_code) for d in departments}
    for (matter, at), rule in rules.items():
        for dept_type in filter(None, [rule.lead, *rule.co_handlers]):
            missing = [u.code for u in units if u.level is at and (dept_type, u.code) not in have]
            if missing:
                shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
                c.add(
                    POWER,
                    rule_lines.get((matter, at)),
                    f"rule {matter}@{at.value}: "
                    f"no {dept_type} department at {len(missing)} unit(s): {shown}",
                )
