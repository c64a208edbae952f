"""Loads a lists directory (YAML and CSV files city staff edit) into a validated `Lists`.

Every problem found is reported with its file, line and a plain message; a directory with any
problem does not load at all, so a broken list never reaches a running service.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

import yaml

from contracts.events import DemandType, Urgency
from contracts.jurisdiction import Level, chain_of, level_of, parent_of, validate_code
from contracts.lists.calendar import BusinessCalendar, TimeLimit, WorkingPeriod
from contracts.lists.model import (
    DataList,
    Department,
    DepartmentType,
    Lists,
    Matter,
    Override,
    PowerRule,
    StageLimits,
    Unit,
)

LINE = "__line__"
_SOURCE_LEVELS = {
    "province": Level.province,
    "city": Level.city,
    "district_or_county": Level.district,
    "street_or_township": Level.street,
    "community_or_village": Level.community,
}
# Matched against the whole string (fullmatch): `$` would let a trailing newline through.
_MATTER_CODE = re.compile(r"[A-Z][A-Z0-9-]{2,39}")
_TYPE_CODE = re.compile(r"[a-z][a-z0-9_]{1,39}")
_DATA_ROLES = ("lead", "co_handler", "coordinator", "upper_level", "public")


@dataclass(frozen=True, slots=True)
class ListError:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ListsInvalid(Exception):
    def __init__(self, errors: list[ListError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s) in the lists:\n" + "\n".join(map(str, errors)))


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records the line of every mapping under the key `__line__`."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[LINE] = node.start_mark.line + 1
    return mapping  # type: ignore[return-value]


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


class _Collector:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.errors: list[ListError] = []

    def add(self, file: str, line: int | None, message: str) -> None:
        self.errors.append(ListError(file, line, message))

    def yaml(self, name: str) -> dict[str, Any]:
        path = self.root / name
        if not path.exists():
            self.add(name, None, "file is missing")
            return {}
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - a SafeLoader
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.add(
                name,
                mark.line + 1 if mark else None,
                f"not valid YAML: {getattr(exc, 'problem', exc)}",
            )
            return {}
        if not isinstance(data, dict):
            self.add(name, 1, "the file must hold a mapping at the top")
            return {}
        return data

    def items(
        self, name: str, data: dict[str, Any], key: str
    ) -> Iterator[tuple[int | None, dict[str, Any]]]:
        entries = data.get(key, [])
        if not isinstance(entries, list):
            self.add(name, data.get(LINE), f"'{key}' must be a list")
            return
        for entry in entries:
            if not isinstance(entry, dict):
                self.add(name, data.get(LINE), f"an entry of '{key}' is not a mapping: {entry!r}")
                continue
            yield entry.get(LINE), entry


def _text(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    return str(value).strip() or None


def _level(value: Any) -> Level | None:
    try:
        return Level(str(value))
    except ValueError:
        return None


def read_holidays(path: Path) -> tuple[set[date], set[date], set[int]]:
    """Holidays, adjusted working days and the years the file publishes."""
    holidays: set[date] = set()
    workdays: set[date] = set()
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            day = date.fromisoformat(row["date"])
            if row["type"] == "holiday":
                holidays.add(day)
            elif row["type"] == "adjusted_workday":
                workdays.add(day)
            else:
                raise ValueError(f"{path.name}: unknown day type {row['type']!r} on {row['date']}")
    return holidays, workdays, {d.year for d in holidays | workdays}


def load_lists_dir(root: Path) -> Lists:
    """Load and validate every file of a lists directory, or raise ListsInvalid listing all."""
    c = _Collector(root)
    manifest = c.yaml("lists.yaml")
    version = _text(manifest, "version") or ""
    city_code = _text(manifest, "city_code") or ""
    if not version:
        c.add("lists.yaml", manifest.get(LINE), "'version' is required")
    try:
        validate_code(city_code)
        if level_of(city_code) is not Level.city:
            c.add("lists.yaml", manifest.get(LINE), f"city_code {city_code} is not a city")
    except ValueError as exc:
        c.add("lists.yaml", manifest.get(LINE), f"city_code {city_code!r}: {exc}")
        city_code = ""
    calendar = _calendar(c, manifest)
    units = _units(c, city_code)
    unit_codes = {u.code for u in units}
    types = _department_types(c)
    departments = _departments(c, units, types, city_code)
    profiles = _limit_profiles(c)
    matters, declared = _matters(c, profiles)
    rules, overrides, rule_lines = _power(c, matters, declared, types, unit_codes)
    _check_owners(c, rule_lines, rules, departments, units)
    data_list = _data_list(c)
    if c.errors or calendar is None:
        raise ListsInvalid(c.errors)
    return Lists(
        version=version,
        city_code=city_code,
        units=tuple(units),
        department_types=types,
        departments=tuple(departments),
        matters=tuple(matters),
        rules=rules,
        overrides=tuple(overrides),
        data_list=data_list,
        calendar=calendar,
    )


def _calendar(c: _Collector, manifest: dict[str, Any]) -> BusinessCalendar | None:
    periods: list[WorkingPeriod] = []
    for text in manifest.get("working_hours", []) or []:
        match = re.fullmatch(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})", str(text))
        if not match:
            c.add("lists.yaml", manifest.get(LINE), f"working period {text!r} is not HH:MM-HH:MM")
            continue
        h1, m1, h2, m2 = map(int, match.groups())
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError:
            c.add("lists.yaml", manifest.get(LINE), f"working period {text!r} is not a time of day")
            continue
        if start >= end:
            c.add(
                "lists.yaml", manifest.get(LINE), f"working period {text!r} ends before it starts"
            )
        periods.append(WorkingPeriod(start, end))
    if not periods:
        c.add(
            "lists.yaml",
            manifest.get(LINE),
            "'working_hours' needs at least one HH:MM-HH:MM period",
        )
    holidays: set[date] = set()
    workdays: set[date] = set()
    years: set[int] = set()
    files = sorted(c.root.glob("holidays*.csv"))
    if not files:
        c.add("holidays.csv", None, "file is missing (public holidays and adjusted working days)")
    for path in files:
        try:
            h, w, y = read_holidays(path)
        except (ValueError, KeyError) as exc:
            c.add(path.name, None, f"cannot read: {exc}")
            continue
        holidays |= h
        workdays |= w
        years |= y
    both = holidays & workdays
    if both:
        c.add("holidays.csv", None, f"days both holiday and working day: {sorted(map(str, both))}")
    timezone = _text(manifest, "timezone") or "Asia/Shanghai"
    try:
        return BusinessCalendar(
            timezone=timezone,
            working_periods=periods or [WorkingPeriod(time(9), time(17))],
            holidays=holidays,
            adjusted_workdays=workdays,
            published_years=years,
        )
    except Exception as exc:
        c.add("lists.yaml", manifest.get(LINE), f"timezone {timezone!r}: {exc}")
        return None


def _units(c: _Collector, city_code: str) -> list[Unit]:
    name = "units.csv"
    path = c.root / name
    if not path.exists():
        c.add(name, None, "file is missing")
        return []
    units: list[Unit] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            code = (row.get("code") or "").strip()
            try:
                validate_code(code)
            except ValueError as exc:
                c.add(name, line, f"unit code {code!r}: {exc}")
                continue
            if code in seen:
                c.add(name, line, f"duplicate unit code {code} (first on line {seen[code]})")
                continue
            seen[code] = line
            declared = _SOURCE_LEVELS.get((row.get("level") or "").strip())
            if declared is not level_of(code):
                c.add(
                    name, line, f"unit {code}: level {row.get('level')!r} does not match its code"
                )
            parent = (row.get("parent_code") or "").strip()
            if parent and parent != parent_of(code):
                c.add(
                    name, line, f"unit {code}: parent {parent} is not the parent its code implies"
                )
            if city_code and not code.startswith(city_code[:4]):
                c.add(name, line, f"unit {code} is outside city {city_code}")
                continue
            if not (row.get("name") or "").strip():
                c.add(name, line, f"unit {code} has no name")
                continue
            units.append(Unit(code=code, name=row["name"].strip()))
    codes = {u.code for u in units}
    for unit in units:
        for ancestor in chain_of(unit.code)[1:]:
            if ancestor not in codes:
                c.add(
                    name, seen[unit.code], f"unit {unit.code}: parent unit {ancestor} is not listed"
                )
                break
    if city_code and city_code not in codes:
        c.add(name, None, f"the city {city_code} itself is not listed")
    return [u for u in units if u.level is not Level.province]


def _department_types(c: _Collector) -> dict[str, DepartmentType]:
    name = "department_types.yaml"
    data = c.yaml(name)
    types: dict[str, DepartmentType] = {}
    raw = data.get("types", {})
    if not isinstance(raw, dict):
        c.add(name, data.get(LINE), "'types' must be a mapping of type code to its definition")
        return types
    for code, entry in raw.items():
        if code == LINE:
            continue
        line = entry.get(LINE) if isinstance(entry, dict) else raw.get(LINE)
        if not _TYPE_CODE.fullmatch(str(code)):
            c.add(name, line, f"department type code {code!r} must be lower_snake_case")
            continue
        if not isinstance(entry, dict) or not _text(entry, "name"):
            c.add(name, line, f"department type {code}: 'name' is required")
            continue
        templates: dict[Level, str | dict[str, str]] = {}
        for level_text, template in (entry.get("templates") or {}).items():
            if level_text == LINE:
                continue
            level = _level(level_text)
            if level is None or level is Level.province:
                c.add(name, line, f"department type {code}: unknown level {level_text!r}")
                continue
            if isinstance(template, dict):
                template = {k: str(v) for k, v in template.items() if k != LINE}
            templates[level] = template
        if not templates:
            c.add(name, line, f"department type {code}: 'templates' names no level")
        types[code] = DepartmentType(code=code, name=str(entry["name"]), templates=templates)
    return types


def _short_name(name: str) -> str:
    for suffix in ("自治县", "区", "县", "市"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _departments(
    c: _Collector, units: list[Unit], types: dict[str, DepartmentType], city_code: str
) -> list[Department]:
    name = "departments.yaml"
    city_name = next((u.name for u in units if u.code == city_code), "")
    generated: dict[str, Department] = {}
    for dept_type in types.values():
        for unit in units:
            templates = dept_type.templates.get(unit.level)
            if templates is None:
                continue
            if isinstance(templates, str):
                template: str | None = templates
            else:
                template = next(
                    (t for suffix, t in templates.items() if unit.name.endswith(suffix)), None
                )
            if template is None:
                what = f"department type {dept_type.code}"
                c.add(
                    "department_types.yaml",
                    None,
                    f"{what}: no template fits {unit.code} {unit.name}",
                )
                continue
            dept_id = f"{unit.code}.{dept_type.code}"
            display = template.format(unit=unit.name, city=city_name, short=_short_name(unit.name))
            generated[dept_id] = Department(dept_id, dept_type.code, unit.code, display)
    data = c.yaml(name) if (c.root / name).exists() else {}
    for line, entry in c.items(name, data, "rename"):
        dept_id, new_name = _text(entry, "id") or "", _text(entry, "name")
        if dept_id not in generated or not new_name:
            c.add(name, line, f"rename: no generated department {dept_id!r} (or no 'name')")
            continue
        old = generated[dept_id]
        generated[dept_id] = Department(old.id, old.type, old.unit_code, new_name)
    for line, entry in c.items(name, data, "remove"):
        dept_id = _text(entry, "id") or ""
        if dept_id not in generated:
            c.add(name, line, f"remove: no generated department {dept_id!r}")
            continue
        if not _text(entry, "reason"):
            c.add(name, line, f"remove {dept_id}: give the 'reason'")
        del generated[dept_id]
    return sorted(generated.values(), key=lambda d: d.id)


def _limit_profiles(c: _Collector) -> dict[str, dict[Urgency, StageLimits]]:
    name = "limits.yaml"
    data = c.yaml(name)
    profiles: dict[str, dict[Urgency, StageLimits]] = {}
    raw = data.get("profiles") or {}
    if not isinstance(raw, dict):
        c.add(name, data.get(LINE), "'profiles' must map each profile name to its limits")
        return profiles
    for profile, by_urgency in raw.items():
        if profile == LINE:
            continue
        line = by_urgency.get(LINE) if isinstance(by_urgency, dict) else None
        if not isinstance(by_urgency, dict):
            c.add(name, None, f"profile {profile}: must map each urgency to its stage limits")
            continue
        parsed: dict[Urgency, StageLimits] = {}
        for urgency in Urgency:
            stages = by_urgency.get(urgency.value)
            if not isinstance(stages, dict):
                c.add(name, line, f"profile {profile}: no limits for urgency {urgency.value}")
                continue
            try:
                parsed[urgency] = StageLimits(
                    sign=TimeLimit.parse(str(stages.get("sign", ""))),
                    first_contact=TimeLimit.parse(str(stages.get("first_contact", ""))),
                    reply=TimeLimit.parse(str(stages.get("reply", ""))),
                )
            except ValueError as exc:
                c.add(name, stages.get(LINE, line), f"profile {profile}, {urgency.value}: {exc}")
        # A broken profile is still declared (empty): its matters then report nothing more.
        profiles[str(profile)] = parsed if len(parsed) == len(Urgency) else {}
    return profiles


def _matters(
    c: _Collector, profiles: dict[str, dict[Urgency, StageLimits]]
) -> tuple[list[Matter], dict[str, int | None]]:
    """The valid matters, and every code declared (rules naming an invalid matter stay quiet)."""
    name = "matters.yaml"
    data = c.yaml(name)
    matters: list[Matter] = []
    seen: dict[str, int | None] = {}
    for line, entry in c.items(name, data, "matters"):
        code = _text(entry, "code") or ""
        problems: list[str] = []
        if not _MATTER_CODE.fullmatch(code):
            problems.append(f"code {code!r} must match {_MATTER_CODE.pattern}")
        elif code in seen:
            problems.append(f"duplicate matter code {code} (first on line {seen[code]})")
        seen.setdefault(code, line)
        for required in ("name", "category", "legal_basis"):
            if not _text(entry, required):
                problems.append(f"'{required}' is required")
        demand_types: list[DemandType] = []
        for value in entry.get("demand_types") or []:
            try:
                demand_types.append(DemandType(value))
            except ValueError:
                problems.append(f"unknown demand type {value!r}")
        if not demand_types:
            problems.append(
                "'demand_types' needs at least one of consult, help, complaint, report, suggestion"
            )
        keywords = tuple(str(k).strip() for k in entry.get("keywords") or [] if str(k).strip())
        if not keywords:
            problems.append("'keywords' needs at least one word")
        try:
            urgency = Urgency(entry.get("urgency", "normal"))
        except ValueError:
            problems.append(f"unknown urgency {entry.get('urgency')!r}")
            urgency = Urgency.normal
        level = _level(entry.get("handling_level"))
        if level is None or level is Level.province:
            problems.append(f"unknown handling_level {entry.get('handling_level')!r}")
        profile = _text(entry, "limits") or ""
        if profile not in profiles:
            problems.append(f"limits profile {profile!r} is not defined in limits.yaml")
        if problems:
            for problem in problems:
                c.add(name, line, f"matter {code or '?'}: {problem}")
            continue
        assert level is not None
        matters.append(
            Matter(
                code=code,
                name=str(entry["name"]),
                category=str(entry["category"]),
                demand_types=tuple(demand_types),
                keywords=keywords,
                examples=tuple(str(e) for e in entry.get("examples") or []),
                urgency=urgency,
                limits_profile=profile,
                limits=profiles[profile],
                handling_level=level,
                legal_basis=str(entry["legal_basis"]),
            )
        )
    return matters, seen


def _power(
    c: _Collector,
    matters: list[Matter],
    declared: dict[str, int | None],
    types: dict[str, DepartmentType],
    unit_codes: set[str],
) -> tuple[dict[tuple[str, Level], PowerRule], list[Override], dict[tuple[str, Level], int | None]]:
    name = "power.yaml"
    data = c.yaml(name)
    matter_codes = {m.code for m in matters}
    rules: dict[tuple[str, Level], PowerRule] = {}
    lines: dict[tuple[str, Level], int | None] = {}

    def check_types(line: int | None, what: str, level: Level, names: list[str]) -> bool:
        ok = True
        for dept_type in names:
            if dept_type not in types:
                c.add(name, line, f"{what}: unknown department type {dept_type!r}")
                ok = False
            elif level not in types[dept_type].levels:
                c.add(
                    name,
                    line,
                    f"{what}: department type {dept_type} has no department at level {level.value}",
                )
                ok = False
        return ok

    for line, entry in c.items(name, data, "rules"):
        matter, level = _text(entry, "matter") or "", _level(entry.get("level"))
        what = f"rule {matter}@{entry.get('level')}"
        if matter not in matter_codes:
            if matter not in declared:  # an invalid matter was reported in matters.yaml
                c.add(name, line, f"{what}: unknown matter {matter!r}")
            continue
        if level is None or level is Level.province:
            c.add(name, line, f"{what}: unknown level {entry.get('level')!r}")
            continue
        if (matter, level) in rules:
            c.add(name, line, f"{what}: duplicate rule (first on line {lines[(matter, level)]})")
            continue
        lead, same_as = _text(entry, "lead"), _text(entry, "same_as")
        co = [str(t) for t in entry.get("co_handlers") or []]
        if len(set(co)) != len(co) or (lead is not None and lead in co):
            c.add(name, line, f"{what}: a department type is named twice (lead and co-handlers)")
            continue
        if same_as is not None:
            if same_as not in matter_codes:
                c.add(name, line, f"{what}: same_as names unknown matter {same_as!r}")
                continue
        elif lead is None:
            if not _text(entry, "reason"):
                c.add(name, line, f"{what}: a rule with no lead must give the 'reason' (no owner)")
                continue
        elif not check_types(line, what, level, [lead, *co]):
            continue
        rules[(matter, level)] = PowerRule(
            matter, level, lead, tuple(co), same_as, _text(entry, "reason")
        )
        lines[(matter, level)] = line
    for (matter, level), rule in rules.items():  # same_as chains must end
        seen = [matter]
        current = rule
        while current.same_as is not None:
            if current.same_as in seen:
                cycle = " -> ".join([*seen, current.same_as])
                c.add(
                    name,
                    lines[(matter, level)],
                    f"rule {matter}@{level.value}: same_as cycle {cycle}",
                )
                break
            seen.append(current.same_as)
            following = rules.get((current.same_as, level))
            if following is None:
                missing = f"same_as {current.same_as} has no rule at level {level.value}"
                c.add(name, lines[(matter, level)], f"rule {matter}@{level.value}: {missing}")
                break
            current = following
    for each in matters:
        if (each.code, each.handling_level) not in rules:
            level_name = each.handling_level.value
            c.add(
                "matters.yaml",
                declared.get(each.code),
                f"matter {each.code} has no owner: no rule in power.yaml at its level {level_name}",
            )
    overrides: list[Override] = []
    for line, entry in c.items(name, data, "overrides"):
        matter, unit, lead = (
            _text(entry, "matter") or "",
            _text(entry, "unit") or "",
            _text(entry, "lead") or "",
        )
        what = f"override {matter}@{unit}"
        if matter not in matter_codes:
            if matter not in declared:
                c.add(name, line, f"{what}: unknown matter {matter!r}")
            continue
        if unit not in unit_codes:
            c.add(name, line, f"{what}: unit {unit!r} is not in the jurisdiction registry")
            continue
        matter_level = next(m.handling_level for m in matters if m.code == matter)
        level = _level(entry.get("level")) if entry.get("level") else matter_level
        if level is None or level is Level.province:
            c.add(name, line, f"{what}: unknown level {entry.get('level')!r}")
            continue
        co = [str(t) for t in entry.get("co_handlers") or []]
        if not check_types(line, what, level, [lead, *co]):
            continue
        if not _text(entry, "reason"):
            c.add(name, line, f"{what}: give the 'reason' for the override")
            continue
        overrides.append(Override(matter, unit, level, lead, tuple(co), str(entry["reason"])))
    return rules, overrides, lines


def _check_owners(
    c: _Collector,
    rule_lines: dict[tuple[str, Level], int | None],
    rules: dict[tuple[str, Level], PowerRule],
    departments: list[Department],
    units: list[Unit],
) -> None:
    """Every unit at a rule's level must have a department of each type the rule names."""
    have = {(d.type, d.unit_code) for d in departments}
    for (matter, level), rule in rules.items():
        for dept_type in filter(None, [rule.lead, *rule.co_handlers]):
            missing = [
                u.code for u in units if u.level is level and (dept_type, u.code) not in have
            ]
            if missing:
                shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
                c.add(
                    "power.yaml",
                    rule_lines.get((matter, level)),
                    f"rule {matter}@{level.value}: "
                    f"no {dept_type} department at {len(missing)} unit(s): {shown}",
                )


def _data_list(c: _Collector) -> DataList:
    name = "data_list.yaml"
    data = c.yaml(name)
    raw_fields, raw_roles = data.get("fields") or {}, data.get("roles") or {}
    if not isinstance(raw_fields, dict) or not isinstance(raw_roles, dict):
        c.add(name, data.get(LINE), "'fields' and 'roles' must be mappings")
        return DataList(fields={}, roles={})
    fields = {str(k): str(v) for k, v in raw_fields.items() if k != LINE}
    roles: dict[str, frozenset[str]] = {}
    for role in _DATA_ROLES:
        if role not in raw_roles:
            c.add(name, data.get(LINE), f"role {role} is missing")
    for role, visible in raw_roles.items():
        if role == LINE:
            continue
        if role not in _DATA_ROLES:
            c.add(
                name,
                raw_roles.get(LINE),
                f"unknown role {role!r}; roles are {', '.join(_DATA_ROLES)}",
            )
            continue
        unknown = [f for f in visible or [] if f not in fields]
        if unknown:
            c.add(
                name,
                raw_roles.get(LINE),
                f"role {role}: fields {unknown} are not declared under 'fields'",
            )
        if role != "lead" and "citizen" in (visible or []):
            # DESIGN: the citizen's name and phone go to the lead department only.
            c.add(name, raw_roles.get(LINE), f"role {role} may not see the citizen's contact")
        roles[role] = frozenset(str(f) for f in visible or [])
    return DataList(fields=fields, roles=roles)
