"""The matter catalogue (matters.yaml) and the time limit profiles it names (limits.yaml)."""

from __future__ import annotations

import re
from typing import Any

from contracts.events import DemandType, Urgency
from contracts.lists.calendar import TimeLimit
from contracts.lists.loader.files import LINE, Collector, handling_level, text
from contracts.lists.model import Matter, StageLimits

# Matched against the whole string (fullmatch): `$` would let a trailing newline through.
_MATTER_CODE = re.compile(r"[A-Z][A-Z0-9-]{2,39}")
Profiles = dict[str, dict[Urgency, StageLimits]]


def load_limit_profiles(c: Collector) -> Profiles:
    name = "limits.yaml"
    data = c.yaml(name)
    profiles: Profiles = {}
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


def load_matters(c: Collector, profiles: Profiles) -> tuple[list[Matter], dict[str, int | None]]:
    """The valid matters, and every code declared (rules naming an invalid matter stay quiet)."""
    name = "matters.yaml"
    data = c.yaml(name)
    matters: list[Matter] = []
    seen: dict[str, int | None] = {}
    for line, entry in c.items(name, data, "matters"):
        code = text(entry, "code") or ""
        problems: list[str] = []
        if not _MATTER_CODE.fullmatch(code):
            problems.append(f"code {code!r} must match {_MATTER_CODE.pattern}")
        elif code in seen:
            problems.append(f"duplicate matter code {code} (first on line {seen[code]})")
        seen.setdefault(code, line)
        matter = _matter(entry, code, profiles, problems)
        if matter is None:
            for problem in problems:
                c.add(name, line, f"matter {code or '?'}: {problem}")
            continue
        matters.append(matter)
    return matters, seen


def _matter(
    entry: dict[str, Any], code: str, profiles: Profiles, problems: list[str]
) -> Matter | None:
    """The matter of one entry, or None with `problems` saying why (and any found before)."""
    for required in ("name", "category", "legal_basis"):
        if not text(entry, required):
            problems.append(f"'{required}' is required")
    demand_types = _demand_types(entry, problems)
    keywords = tuple(str(k).strip() for k in entry.get("keywords") or [] if str(k).strip())
    if not keywords:
        problems.append("'keywords' needs at least one word")
    try:
        urgency = Urgency(entry.get("urgency", "normal"))
    except ValueError:
        problems.append(f"unknown urgency {entry.get('urgency')!r}")
        urgency = Urgency.normal
    level = handling_level(entry.get("handling_level"))
    if level is None:
        problems.append(f"unknown handling_level {entry.get('handling_level')!r}")
    profile = text(entry, "limits") or ""
    if profile not in profiles:
        problems.append(f"limits profile {profile!r} is not defined in limits.yaml")
    if problems or level is None:
        return None
    return Matter(
        code=code,
        name=str(entry["name"]),
        category=str(entry["category"]),
        demand_types=demand_types,
        keywords=keywords,
        examples=tuple(str(e) for e in entry.get("examples") or []),
        urgency=urgency,
        limits_profile=profile,
        limits=profiles[profile],
        handling_level=level,
        legal_basis=str(entry["legal_basis"]),
    )


def _demand_types(entry: dict[str, Any], problems: list[str]) -> tuple[DemandType, ...]:
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
    return tuple(demand_types)
