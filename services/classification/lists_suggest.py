"""`liandong lists suggest`: power-list changes proposed from dispatch history, each with its
evidence (counts, example demands), for a person to accept into a new lists version. The lists
stay law: nothing here changes them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from contracts.jurisdiction import Level
from contracts.lists import Lists

MIN_CASES = 5  # a matter needs this many demands in the history before anything is proposed
MIN_SHARE = 0.5  # and the department type that really answered must hold this share of them


@dataclass(frozen=True, slots=True)
class Case:
    """One demand of the history: the matter it was given, the type that really answered."""

    matter_code: str
    answered_by: str
    example: str  # an id and a short title, for the person who decides


@dataclass(frozen=True, slots=True)
class Suggestion:
    matter_code: str
    change: str
    answered: int  # demands of the matter answered by the proposed type
    cases: int  # demands of the matter in the history
    by_type: tuple[tuple[str, int], ...]
    examples: tuple[str, ...]


def suggest(lists: Lists, cases: Iterable[Case]) -> list[Suggestion]:
    """For each matter whose demands were mostly answered by another department type than the
    power list's lead at its handling level: make the level whose rule names that type the
    handling level, or (no such rule) give the handling level's rule that lead. Largest first."""
    by_matter: dict[str, list[Case]] = {}
    for case in cases:
        by_matter.setdefault(case.matter_code, []).append(case)
    found: list[Suggestion] = []
    for code, matter_cases in by_matter.items():
        matter = lists.matters_by_code.get(code)
        if matter is None or len(matter_cases) < MIN_CASES:
            continue
        counts = Counter(case.answered_by for case in matter_cases)
        kind, answered = counts.most_common(1)[0]
        if answered / len(matter_cases) < MIN_SHARE:
            continue
        lead = _lead(lists, code, matter.handling_level)
        if lead == kind:
            continue
        other = next(
            (
                level
                for level in (Level.community, Level.street, Level.district, Level.city)
                if level is not matter.handling_level and _lead(lists, code, level) == kind
            ),
            None,
        )
        if other is not None:
            change = (
                f"handling_level of {code} ({matter.name}): {matter.handling_level.value} ->"
                f" {other.value} (its rule there names {kind}; now {lead or 'no lead'})"
            )
        elif kind in lists.department_types and (
            matter.handling_level not in lists.department_types[kind].levels
        ):  # a street office or a community exists only at its own level
            level = min(lists.department_types[kind].levels, key=lambda lv: lv.value)
            change = (
                f"add the rule {code}@{level.value}: lead {kind}, and make {level.value} the"
                f" handling_level (now {matter.handling_level.value}: {lead or 'no lead'})"
            )
        else:
            change = (
                f"power rule {code}@{matter.handling_level.value}: lead {lead or 'none'} -> {kind}"
            )
        examples = tuple(c.example for c in matter_cases if c.answered_by == kind)[:3]
        found.append(
            Suggestion(
                code, change, answered, len(matter_cases), tuple(counts.most_common()), examples
            )
        )
    found.sort(key=lambda s: (-s.answered, s.matter_code))
    return found


def _lead(lists: Lists, matter_code: str, level: Level) -> str | None:
    rule = lists.rule(matter_code, level)
    return rule.lead if rule is not None else None


def render(suggestions: Sequence[Suggestion]) -> str:
    lines: list[str] = []
    for s in suggestions:
        types = ", ".join(f"{t} {n}" for t, n in s.by_type)
        lines.append(f"- {s.change}")
        lines.append(f"    evidence: {s.answered} of {s.cases} demands answered so ({types})")
        lines.extend(f"    e.g. {example}" for example in s.examples)
    return "\n".join(lines)
