"""The jurisdiction registry (units.csv) and the departments generated from department_types.yaml
with the edits of departments.yaml."""

from __future__ import annotations

import csv
import re
from typing import Any

from contracts.jurisdiction import Level, chain_of, level_of, parent_of, validate_code
from contracts.lists.loader.files import LINE, Collector, handling_level, text
from contracts.lists.model import Department, DepartmentType, Unit

_SOURCE_LEVELS = {
    "province": Level.province,
    "city": Level.city,
    "district_or_county": Level.district,
    "street_or_township": Level.street,
    "community_or_village": Level.community,
}
# Matched against the whole string (fullmatch): `$` would let a trailing newline through.
_TYPE_CODE = re.compile(r"[a-z][a-z0-9_]{1,39}")
UNITS = "units.csv"


def load_units(c: Collector, city_code: str) -> list[Unit]:
    path = c.root / UNITS
    if not path.exists():
        c.add(UNITS, None, "file is missing")
        return []
    units: list[Unit] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            unit = _unit(c, line, row, city_code, seen)
            if unit is not None:
                units.append(unit)
    _check_parents(c, units, seen, city_code)
    return [u for u in units if u.level is not Level.province]


def _unit(
    c: Collector, line: int, row: dict[str, Any], city_code: str, seen: dict[str, int]
) -> Unit | None:
    """The unit of one row of units.csv, or None (with the problem reported)."""
    code = (row.get("code") or "").strip()
    try:
        validate_code(code)
    except ValueError as exc:
        c.add(UNITS, line, f"unit code {code!r}: {exc}")
        return None
    if code in seen:
        c.add(UNITS, line, f"duplicate unit code {code} (first on line {seen[code]})")
        return None
    seen[code] = line
    declared = _SOURCE_LEVELS.get((row.get("level") or "").strip())
    if declared is not level_of(code):
        c.add(UNITS, line, f"unit {code}: level {row.get('level')!r} does not match its code")
    parent = (row.get("parent_code") or "").strip()
    if parent and parent != parent_of(code):
        c.add(UNITS, line, f"unit {code}: parent {parent} is not the parent its code implies")
    if city_code and not code.startswith(city_code[:4]):
        c.add(UNITS, line, f"unit {code} is outside city {city_code}")
        return None
    if not (row.get("name") or "").strip():
        c.add(UNITS, line, f"unit {code} has no name")
        return None
    return Unit(code=code, name=row["name"].strip())


def _check_parents(c: Collector, units: list[Unit], seen: dict[str, int], city_code: str) -> None:
    codes = {u.code for u in units}
    for unit in units:
        for ancestor in chain_of(unit.code)[1:]:
            if ancestor not in codes:
                c.add(
                    UNITS,
                    seen[unit.code],
                    f"unit {unit.code}: parent unit {ancestor} is not listed",
                )
                break
    if city_code and city_code not in codes:
        c.add(UNITS, None, f"the city {city_code} itself is not listed")


def load_department_types(c: Collector) -> dict[str, DepartmentType]:
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
        if not isinstance(entry, dict) or not text(entry, "name"):
            c.add(name, line, f"department type {code}: 'name' is required")
            continue
        templates = _templates(c, line, code, entry)
        if not templates:
            c.add(name, line, f"department type {code}: 'templates' names no level")
        types[code] = DepartmentType(code=code, name=str(entry["name"]), templates=templates)
    return types


def _templates(
    c: Collector, line: int | None, code: str, entry: dict[str, Any]
) -> dict[Level, str | dict[str, str]]:
    templates: dict[Level, str | dict[str, str]] = {}
    for level_text, template in (entry.get("templates") or {}).items():
        if level_text == LINE:
            continue
        level = handling_level(level_text)
        if level is None:
            c.add(
                "department_types.yaml",
                line,
                f"department type {code}: unknown level {level_text!r}",
            )
            continue
        if isinstance(template, dict):
            template = {k: str(v) for k, v in template.items() if k != LINE}
        templates[level] = template
    return templates


def _short_name(name: str) -> str:
    for suffix in ("自治县", "区", "县", "市"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def load_departments(
    c: Collector, units: list[Unit], types: dict[str, DepartmentType], city_code: str
) -> list[Department]:
    city_name = next((u.name for u in units if u.code == city_code), "")
    generated = _generate(c, units, types, city_name)
    _apply_edits(c, generated)
    return sorted(generated.values(), key=lambda d: d.id)


def _generate(
    c: Collector, units: list[Unit], types: dict[str, DepartmentType], city_name: str
) -> dict[str, Department]:
    """One department of each type at every unit whose level the type has a template for."""
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
    return generated


def _apply_edits(c: Collector, generated: dict[str, Department]) -> None:
    """departments.yaml's renames and removals of generated departments."""
    name = "departments.yaml"
    data = c.yaml(name) if (c.root / name).exists() else {}
    for line, entry in c.items(name, data, "rename"):
        dept_id, new_name = text(entry, "id") or "", text(entry, "name")
        if dept_id not in generated or not new_name:
            c.add(name, line, f"rename: no generated department {dept_id!r} (or no 'name')")
            continue
        old = generated[dept_id]
        generated[dept_id] = Department(old.id, old.type, old.unit_code, new_name)
    for line, entry in c.items(name, data, "remove"):
        dept_id = text(entry, "id") or ""
        if dept_id not in generated:
            c.add(name, line, f"remove: no generated department {dept_id!r}")
            continue
        if not text(entry, "reason"):
            c.add(name, line, f"remove {dept_id}: give the 'reason'")
        del generated[dept_id]
