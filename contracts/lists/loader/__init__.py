"""Loads a lists directory (YAML and CSV files city staff edit) into a validated `Lists`.

Every problem found is reported with its file, line and a plain message; a directory with any
problem does not load at all, so a broken list never reaches a running service. One module per
list: `places` (units and departments), `matters` (catalogue and limits), `power`,
`governance` (summons list, supervision chain), `data_list`, `calendar`; `files` reads them
and collects the problems.
"""

from __future__ import annotations

from pathlib import Path

from contracts.jurisdiction import Level, level_of, validate_code
from contracts.lists.loader.calendar import load_calendar, read_holidays
from contracts.lists.loader.data_list import load_data_list
from contracts.lists.loader.files import LINE, Collector, ListError, ListsInvalid, text
from contracts.lists.loader.governance import load_summon_rules, load_supervision
from contracts.lists.loader.matters import load_limit_profiles, load_matters
from contracts.lists.loader.places import load_department_types, load_departments, load_units
from contracts.lists.loader.power import PowerReader, check_owners
from contracts.lists.model import Lists

__all__ = ["ListError", "ListsInvalid", "load_lists_dir", "read_holidays"]


def load_lists_dir(root: Path) -> Lists:
    """Load and validate every file of a lists directory, or raise ListsInvalid listing all."""
    c = Collector(root)
    manifest = c.yaml("lists.yaml")
    version = text(manifest, "version") or ""
    if not version:
        c.add("lists.yaml", manifest.get(LINE), "'version' is required")
    city_code = _city_code(c, text(manifest, "city_code") or "", manifest.get(LINE))
    calendar = load_calendar(c, manifest)
    units = load_units(c, city_code)
    types = load_department_types(c)
    departments = load_departments(c, units, types, city_code)
    matters, declared = load_matters(c, load_limit_profiles(c))
    power = PowerReader(c, matters, declared, types, {u.code for u in units})
    power.read()
    check_owners(c, power.lines, power.rules, departments, units)
    summon_rules = load_summon_rules(c, {m.code for m in matters}, types, departments, units)
    supervision = load_supervision(c, manifest)
    data_list = load_data_list(c)
    if c.errors or calendar is None:
        raise ListsInvalid(c.errors)
    return Lists(
        version=version,
        city_code=city_code,
        units=tuple(units),
        department_types=types,
        departments=tuple(departments),
        matters=tuple(matters),
        rules=power.rules,
        overrides=tuple(power.overrides),
        data_list=data_list,
        calendar=calendar,
        summon_rules=tuple(summon_rules),
        supervision=supervision,
    )


def _city_code(c: Collector, city_code: str, line: int | None) -> str:
    """The manifest's city code, or "" (with the problem reported) when it is not a city's."""
    try:
        validate_code(city_code)
    except ValueError as exc:
        c.add("lists.yaml", line, f"city_code {city_code!r}: {exc}")
        return ""
    if level_of(city_code) is not Level.city:
        c.add("lists.yaml", line, f"city_code {city_code} is not a city")
    return city_code
