"""The keyword index gives exactly what scanning the whole catalogue gave."""

from contracts.events import Location
from contracts.jurisdiction import chain_of, level_of
from contracts.lists import Lists, load_lists
from services.classification import rules
from services.classification.category_model import read_examples
from services.classification.evaluation import unit_resolution

LISTS = load_lists()


def _keyword_hits_by_scanning(lists: Lists, content: str) -> list[rules.KeywordHit]:
    """The former implementation: every keyword of every matter tried against the text."""
    hits = [(matter, k) for matter in lists.matters for k in matter.keywords if k in content]
    matched = {k for _, k in hits}
    hits = [(m, k) for m, k in hits if not any(k != other and k in other for other in matched)]
    scores: dict[str, rules.KeywordHit] = {}
    for matter, keyword in hits:
        earlier = scores.get(matter.code)
        if earlier is None:
            scores[matter.code] = rules.KeywordHit(matter, len(keyword), (keyword,))
        else:
            scores[matter.code] = rules.KeywordHit(
                matter, earlier.score + len(keyword), (*earlier.keywords, keyword)
            )
    return sorted(scores.values(), key=lambda h: h.score, reverse=True)


def test_keyword_hits_are_those_of_the_whole_catalogue_scan():
    texts = [e.text for e in read_examples()[::3]]
    texts += [
        "",
        "天然气泄漏，楼道里都是天然气味道",
        "月河社区楼下烧烤店每晚噪音扰民到凌晨两点",
        "😀路灯不亮了 street light broken!!!",
        "\ud83d孤立的代理字符，路灯不亮",
        "天",
    ]
    texts += [k for m in LISTS.matters for k in m.keywords]  # each keyword alone
    with_hits = 0
    for text in texts:
        expected = _keyword_hits_by_scanning(LISTS, text)
        assert rules.keyword_hits(LISTS, text) == expected, text
        with_hits += bool(expected)
    assert with_hits > 1000


def test_unit_resolution_on_the_generated_addresses_is_unchanged(monkeypatch):
    """The 5,204 addresses of `make eval-classifier` resolve to the same unit, or fail with the
    same reason, with the registry's chains cached and computed anew each time."""
    locate = rules.locate

    def outcomes() -> tuple[tuple[int, int], list[tuple[str, object]]]:
        seen: list[tuple[str, object]] = []

        def recording(lists: Lists, location: Location) -> rules.UnitAnswer:
            try:
                answer = locate(lists, location)
            except rules.NotConfident as exc:
                seen.append((location.address or "", str(exc)))
                raise
            seen.append((location.address or "", answer))
            return answer

        monkeypatch.setattr(rules, "locate", recording)
        counts = unit_resolution(LISTS)
        monkeypatch.setattr(rules, "locate", locate)
        return counts, seen

    cached = outcomes()
    monkeypatch.setattr(rules, "_ancestors", lambda code: tuple(chain_of(code)[1:]))
    monkeypatch.setattr(rules, "_level", level_of)
    assert outcomes() == cached
    assert cached[0] == (5077, 5204)
    assert len(cached[1]) == 5204
