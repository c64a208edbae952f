"""One answer from two layers: the catalogue's keywords name candidate matters, the category
model weighs them; the answer carries its confidence and the top alternatives."""

from __future__ import annotations

import re
from dataclasses import dataclass

from contracts.lists import Lists, Matter
from services.classification import rules
from services.classification.model import MAX_CHARS, CategoryModel, Segmenter, lists_words

_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class Decision:
    matter: Matter
    confidence: float
    rule: str
    alternatives: tuple[tuple[str, float], ...]  # other matters, best first
    categories: tuple[tuple[str, float], ...]  # first-level categories, best first
    truncated: bool


class Undecided(rules.NotConfident):
    """No sensible matter; carries what the layers did say, for the triage operator."""

    def __init__(
        self,
        reason: str,
        *,
        alternatives: tuple[tuple[str, float], ...] = (),
        categories: tuple[tuple[str, float], ...] = (),
    ) -> None:
        super().__init__(reason)
        self.alternatives = alternatives
        self.categories = categories


class Classifier:
    def __init__(self, lists: Lists, model: CategoryModel | None) -> None:
        self.lists = lists
        self.model = model
        self.segmenter = Segmenter(lists_words(lists))

    @property
    def version(self) -> str:
        return self.model.version if self.model else "keywords-only"

    def categories(self, text: str) -> tuple[tuple[str, float], ...]:
        if self.model is None:
            return ()
        probabilities = self.model.probabilities([text], self.segmenter)[0]
        ranked = sorted(
            zip(self.model.classes, probabilities, strict=True), key=lambda c: c[1], reverse=True
        )
        return tuple((name, round(float(p), 4)) for name, p in ranked)

    def classify(self, text: str) -> Decision:
        text = text.strip()
        if not _CJK.search(text):
            raise Undecided("the text has no Chinese to classify")
        truncated = len(text) > MAX_CHARS
        text = text[:MAX_CHARS]
        categories = self.categories(text)
        probability = dict(categories)
        hits = rules.keyword_hits(self.lists, text)
        if not hits:
            best = (
                f"; most likely category {categories[0][0]} ({categories[0][1]:.2f})"
                if categories
                else ""
            )
            raise Undecided(f"no matter keyword in the text{best}", categories=categories[:3])
        scored: list[tuple[float, rules.KeywordHit]] = []
        for index, hit in enumerate(hits):
            keyword = rules.keyword_confidence(hits, index)
            category = probability.get(hit.matter.category)
            # A matter of a category the model never learnt (民政, 政法 …) rests on its keywords.
            combined = keyword * 0.9 if category is None else 0.5 * keyword + 0.5 * category
            scored.append((round(combined, 4), hit))
        scored.sort(key=lambda item: item[0], reverse=True)
        alternatives = tuple((h.matter.code, c) for c, h in scored[1:4])
        if len(scored) > 1 and scored[1][0] == scored[0][0]:
            tied = ", ".join(h.matter.code for c, h in scored if c == scored[0][0])
            raise Undecided(
                f"matters score equally: {tied}",
                alternatives=tuple((h.matter.code, c) for c, h in scored[:4]),
                categories=categories[:3],
            )
        confidence, best_hit = scored[0]
        rule = f"keywords:{','.join(best_hit.keywords)}; model:{self.version}"
        return Decision(best_hit.matter, confidence, rule, alternatives, categories[:3], truncated)
