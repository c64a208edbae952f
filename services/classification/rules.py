"""The keyword rule layer: matter from catalogue keywords, unit from code or address, urgency.

Deliberately simple and fully explained: every answer names the rule that produced it. An answer
the rules cannot give with confidence is not guessed; the demand goes to triage.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.events import DemandType, Location, Urgency
from contracts.jurisdiction import Level
from contracts.lists import Lists, Matter, Unit

# Cues that make any demand critical (特急): dispatched at once with the shortest limits.
CRITICAL_CUES = (
    "燃气泄漏",
    "煤气泄漏",
    "漏气",
    "起火",
    "着火",
    "火灾",
    "被困",
    "坍塌",
    "倒塌",
    "触电",
    "电线断落",
    "溺水",
)

_NAME_SUFFIXES = ("社区居委会", "村居委会", "居委会", "村委会", "社区", "街道", "镇", "乡")


@dataclass(frozen=True, slots=True)
class MatterAnswer:
    matter: Matter
    confidence: float
    rule: str


@dataclass(frozen=True, slots=True)
class UnitAnswer:
    unit: Unit
    confidence: float
    how: str


class NotConfident(Exception):
    """The rules cannot answer; the reason is shown to the triage operator."""


def classify_matter(lists: Lists, content: str) -> MatterAnswer:
    scored: list[tuple[int, Matter, list[str]]] = []
    for matter in lists.matters:
        hits = [k for k in matter.keywords if k in content]
        if hits:
            scored.append((len(hits), matter, hits))
    if not scored:
        raise NotConfident("no matter keyword in the text")
    scored.sort(key=lambda item: item[0], reverse=True)
    best_hits, best, keywords = scored[0]
    if len(scored) > 1 and scored[1][0] == best_hits:
        tied = ", ".join(m.code for n, m, _ in scored if n == best_hits)
        raise NotConfident(f"keywords match several matters equally: {tied}")
    # Rule confidence grows with distinct keyword hits; one hit is a fair but thin signal.
    confidence = min(0.95, 0.7 + 0.1 * (best_hits - 1))
    return MatterAnswer(best, confidence, f"keywords:{','.join(keywords)}")


def _name_variants(name: str) -> set[str]:
    variants = {name}
    for suffix in _NAME_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            variants.add(name[: -len(suffix)])
    return variants


def locate(lists: Lists, location: Location) -> UnitAnswer:
    if location.unit_code is not None:
        unit = lists.units_by_code.get(location.unit_code)
        if unit is None:
            raise NotConfident(f"unit {location.unit_code} is not in the jurisdiction registry")
        return UnitAnswer(unit, 1.0, "explicit unit code")
    if location.address:
        return _locate_address(lists, location.address)
    raise NotConfident("no unit code or address; the lists carry no unit areas for lat/lon yet")


def _locate_address(lists: Lists, address: str) -> UnitAnswer:
    matches = [
        unit
        for unit in lists.units
        if unit.level in (Level.street, Level.community)
        and any(v in address for v in _name_variants(unit.name))
    ]
    communities = [u for u in matches if u.level is Level.community]
    candidates = communities or matches
    if not candidates:
        raise NotConfident("the address names no known street, township, community or village")
    if len(candidates) > 1:
        names = ", ".join(u.name for u in candidates)
        raise NotConfident(f"the address matches several units equally: {names}")
    unit = candidates[0]
    return UnitAnswer(unit, 0.9 if unit.level is Level.community else 0.8, "address name match")


def urgency_of(content: str, matter: Matter) -> tuple[Urgency, str | None]:
    for cue in CRITICAL_CUES:
        if cue in content:
            return Urgency.critical, cue
    return matter.urgency, None


def demand_type_of(given: DemandType | None, matter: Matter) -> DemandType:
    return given or matter.demand_type
