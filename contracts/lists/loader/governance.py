"""The lists' governance parts: the summons list (power.yaml `summons`: who a coordinator may
summon beyond the owners) and the supervision chain (lists.yaml `supervision`: who a late
department of each level climbs to)."""

from __future__ import annotations

from typing import Any

from contracts.jurisdiction import Level
from contracts.lists.loader.files import LINE, Collector, level, text
from contracts.lists.model import DEFAULT_SUPERVISION, Department, DepartmentType, SummonRule, Unit

POWER = "power.yaml"
MANIFEST = "lists.yaml"
_ORDER = [Level.city, Level.district, Level.street, Level.community]


def load_summon_rules(
    c: Collector,
    matter_codes: set[str],
    types: dict[str, DepartmentType],
    departments: list[Department],
    units: list[Unit],
) -> list[SummonRule]:
    """Each entry: a known matter, a level, department types that exist there (with a
    department at every unit of that level), and the reason; one entry per (matter, level)."""
    found: list[SummonRule] = []
    seen: dict[tuple[str, Level], int | None] = {}
    have = {(d.type, d.unit_code) for d in departments}
    for line, entry in c.items(POWER, c.yaml(POWER), "summons"):
        matter, at = text(entry, "matter") or "", level(entry.get("level"))
        what = f"summons {matter}@{entry.get('level')}"
        names = [str(t) for t in entry.get("departments") or []]
        problems = _problems(matter, at, names, text(entry, "reason"), matter_codes, types)
        if at is not None and (matter, at) in seen:
            problems.append(f"duplicate entry (first on line {seen[(matter, at)]})")
        for problem in problems:
            c.add(POWER, line, f"{what}: {problem}")
        if problems or at is None:
            continue
        seen[(matter, at)] = line
        for dept_type in names:
            missing = [u.code for u in units if u.level is at and (dept_type, u.code) not in have]
            if missing:
                c.add(POWER, line, f"{what}: no {dept_type} department at unit(s) {missing[:5]}")
        found.append(SummonRule(matter, at, tuple(names), str(text(entry, "reason"))))
    return found


def _problems(
    matter: str,
    at: Level | None,
    names: list[str],
    reason: str | None,
    matter_codes: set[str],
    types: dict[str, DepartmentType],
) -> list[str]:
    problems = []
    if matter not in matter_codes:
        problems.append(f"unknown matter {matter!r}")
    if at is None or at is Level.province:
        return [*problems, "unknown level"]
    if not names or len(set(names)) != len(names):
        problems.append("'departments' must name department types, each once")
    for dept_type in names:
        if dept_type not in types:
            problems.append(f"unknown department type {dept_type!r}")
        elif at not in types[dept_type].levels:
            problems.append(f"department type {dept_type} has no department at level {at.value}")
    if not reason:
        problems.append("give the 'reason' (the rule a coordinator's summons cites)")
    return problems


def load_supervision(c: Collector, manifest: dict[str, Any]) -> dict[Level, tuple[Level, ...]]:
    """`supervision: {district: [district, city], ...}`: for a department of each level, the
    levels of the coordinators it climbs to, nearest first. Each chain goes upward, never
    below the department's own level, and ends at the city; a level left out keeps the
    default (the units above it)."""
    chains = dict(DEFAULT_SUPERVISION)
    given = manifest.get("supervision")
    if given is None:
        return chains
    line = given.get(LINE) if isinstance(given, dict) else manifest.get(LINE)
    if not isinstance(given, dict):
        c.add(MANIFEST, line, "'supervision' must map a level to a list of levels")
        return chains
    for key, value in given.items():
        if key == LINE:
            continue
        at, levels = level(key), [level(v) for v in value] if isinstance(value, list) else []
        where = f"supervision {key}"
        if at is None or at is Level.province:
            c.add(MANIFEST, line, f"{where}: unknown level {key!r}")
            continue
        if not levels or None in levels:
            c.add(MANIFEST, line, f"{where}: name the levels it climbs to, e.g. [district, city]")
            continue
        chain = [each for each in levels if each is not None]
        ranks = [_ORDER.index(each) for each in chain if each in _ORDER]
        upward = len(ranks) == len(chain) and ranks == sorted(set(ranks), reverse=True)
        if not upward or ranks[0] > _ORDER.index(at) or chain[-1] is not Level.city:
            c.add(
                MANIFEST,
                line,
                f"{where}: levels go upward from {at.value} (or start at it) and end at city",
            )
            continue
        chains[at] = tuple(chain)
    return chains
