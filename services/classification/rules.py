"""The keyword rule layer: matter from catalogue keywords, unit from code or address, urgency.

Deliberately simple and fully explained: every answer names the rule that produced it. An answer
the rules cannot give with confidence is not guessed; the demand goes to triage.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from contracts.events import DemandType, Location, Urgency
from contracts.jurisdiction import Level, chain_of, level_of
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


@dataclass(frozen=True, slots=True)
class KeywordHit:
    matter: Matter
    score: int  # characters of distinct keywords matched
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _KeywordIndex:
    """The catalogue's keywords by their first two characters (as one integer: the code points
    in 21-bit fields); for each keyword the matters that list it, in catalogue order (matter,
    then keyword position); and the other keywords that contain it."""

    by_pair: dict[int, tuple[str, ...]]
    singles: tuple[str, ...]  # one-character keywords, tried on every text
    owners: dict[str, tuple[tuple[int, int, Matter], ...]]
    inside: dict[str, frozenset[str]]


def _pair(first: str, second: str) -> int:
    return (ord(first) << 21) | ord(second)


@lru_cache(maxsize=4)
def _keyword_index(lists: Lists) -> _KeywordIndex:
    owners: dict[str, list[tuple[int, int, Matter]]] = {}
    for m, matter in enumerate(lists.matters):
        for k, keyword in enumerate(matter.keywords):
            owners.setdefault(keyword, []).append((m, k, matter))
    by_pair: dict[int, list[str]] = {}
    for keyword in owners:
        if len(keyword) >= 2:
            by_pair.setdefault(_pair(keyword[0], keyword[1]), []).append(keyword)
    inside: dict[str, set[str]] = {k: set() for k in owners}
    for keyword in owners:
        for start in range(len(keyword)):
            for end in range(start + 1, len(keyword) + 1):
                part = keyword[start:end]
                if part != keyword and part in inside:
                    inside[part].add(keyword)
    return _KeywordIndex(
        {pair: tuple(keywords) for pair, keywords in by_pair.items()},
        tuple(k for k in owners if len(k) < 2),
        {k: tuple(o) for k, o in owners.items()},
        {k: frozenset(o) for k, o in inside.items()},
    )


def _text_pairs(content: str) -> list[int]:
    """Every two adjacent characters of the text, once, as `_pair` gives them."""
    codes = np.frombuffer(content.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    codes = codes.astype(np.int64)
    pairs: list[int] = np.unique((codes[:-1] << 21) | codes[1:]).tolist()
    return pairs


def keyword_hits(lists: Lists, content: str) -> list[KeywordHit]:
    """Matters whose keywords the text contains, best first.

    Only the keywords whose first two characters stand together in the text are tried (an index
    built once per lists snapshot), not the whole catalogue."""
    index = _keyword_index(lists)
    candidates = filter(None, map(index.by_pair.get, _text_pairs(content)))
    matched = {k for keywords in candidates for k in keywords if k in content}
    matched.update(k for k in index.singles if k in content)
    # The longest keyword wins over the words inside it: 天然气泄漏 is the emergency, not the
    # everyday 天然气 matter that merely shares its first characters.
    kept = [k for k in matched if index.inside[k].isdisjoint(matched)]
    hits = sorted((owner for k in kept for owner in index.owners[k]), key=lambda o: o[:2])
    scores: dict[str, KeywordHit] = {}
    for _, k, matter in hits:
        keyword = matter.keywords[k]
        earlier = scores.get(matter.code)
        if earlier is None:
            scores[matter.code] = KeywordHit(matter, len(keyword), (keyword,))
        else:
            scores[matter.code] = KeywordHit(
                matter, earlier.score + len(keyword), (*earlier.keywords, keyword)
            )
    return sorted(scores.values(), key=lambda h: h.score, reverse=True)


def keyword_confidence(hits: list[KeywordHit], index: int = 0) -> float:
    """Grows with the matched text and the margin over the runner-up."""
    runner_up = max((h.score for i, h in enumerate(hits) if i != index), default=0)
    margin = hits[index].score - runner_up
    return round(min(0.95, max(0.3, 0.6 + 0.05 * margin)), 3)


def classify_matter(lists: Lists, content: str) -> MatterAnswer:
    """The keyword layer alone (the service combines it with the category model)."""
    hits = keyword_hits(lists, content)
    if not hits:
        raise NotConfident("no matter keyword in the text")
    if len(hits) > 1 and hits[1].score == hits[0].score:
        tied = ", ".join(h.matter.code for h in hits if h.score == hits[0].score)
        raise NotConfident(f"keywords match several matters equally: {tied}")
    return MatterAnswer(
        hits[0].matter, keyword_confidence(hits), f"keywords:{','.join(hits[0].keywords)}"
    )


def _name_variants(unit: Unit) -> set[str]:
    """How an address may name the unit: 车站社区居委会 -> 车站社区, 凤凰村委会 -> 凤凰村,
    织里镇 -> 织里."""
    name = unit.name
    variants = {name}
    if name.endswith("村委会"):
        variants.add(name[: -len("村委会")] + "村")
    elif name.endswith("居委会") and len(name) > len("居委会") + 2:
        variants.add(name[: -len("居委会")])
    if unit.level is Level.street and name.endswith(("镇", "乡")) and len(name) >= 3:
        variants.add(name[:-1])
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


@lru_cache(maxsize=4)
def _variant_index(lists: Lists) -> tuple[dict[str, list[str]], int]:
    """Name variant -> unit codes, and the longest variant: built once per lists snapshot."""
    index: dict[str, list[str]] = {}
    for unit in lists.units:
        if unit.level is Level.city:
            continue
        for variant in _name_variants(unit):
            index.setdefault(variant, []).append(unit.code)
    return index, max(map(len, index))


@lru_cache(maxsize=8192)
def _ancestors(code: str) -> tuple[str, ...]:
    """The units above a registry unit (codes are checked once, not on every address)."""
    return tuple(chain_of(code)[1:])


@lru_cache(maxsize=8192)
def _level(code: str) -> Level:
    return level_of(code)


def _locate_address(lists: Lists, address: str) -> UnitAnswer:
    index, longest = _variant_index(lists)
    found: dict[str, str] = {}  # unit code -> the longest name variant the address contains
    for start in range(len(address)):
        for end in range(start + 2, min(len(address), start + longest) + 1):
            for code in index.get(address[start:end], ()):
                if len(address[start:end]) > len(found.get(code, "")):
                    found[code] = address[start:end]
    # A name inside a longer matched name is not a match of its own (朝阳 in 朝阳街道).
    texts = set(found.values())
    found = {c: v for c, v in found.items() if not any(v != o and v in o for o in texts)}
    if not found:
        raise NotConfident(
            "the address names no known district, street, township, community or village"
        )

    def support(code: str) -> int:
        """How many units above this one the address also names: 吴兴区朝阳街道车站社区 -> 2."""
        return sum(1 for ancestor in _ancestors(code) if ancestor in found)

    for level, confidence in ((Level.community, 0.85), (Level.street, 0.8), (Level.district, 0.6)):
        candidates = [code for code in found if _level(code) is level]
        if not candidates:
            continue
        best = max(map(support, candidates))
        top = [code for code in candidates if support(code) == best]
        if len(top) > 1:
            names = ", ".join(lists.units_by_code[c].name for c in top)
            raise NotConfident(f"the address matches several units equally: {names}")
        unit = lists.units_by_code[top[0]]
        return UnitAnswer(
            unit, min(0.95, confidence + 0.05 * best), f"address names {found[unit.code]}"
        )
    raise NotConfident("the address names no known unit")  # unreachable: found is not empty


def critical_cue(content: str) -> str | None:
    """The first critical cue the text contains, if any."""
    for cue in CRITICAL_CUES:
        if cue in content:
            return cue
    return None


def urgency_of(content: str, matter: Matter | None) -> tuple[Urgency, str | None]:
    """Critical on a cue in the text (and the cue); else the matter's own urgency; with no
    matter settled (a demand waiting in triage whose matter is not certain), normal."""
    cue = critical_cue(content)
    if cue is not None:
        return Urgency.critical, cue
    return (matter.urgency if matter is not None else Urgency.normal), None


def demand_type_of(given: DemandType | None, matter: Matter) -> DemandType:
    return given or matter.demand_type
