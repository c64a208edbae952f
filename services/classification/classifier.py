"""One answer from two layers: the catalogue's keywords name candidate matters, the category
model weighs them; the answer carries its confidence and the top alternatives."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from contracts.lists import Lists, Matter
from services.classification import rules
from services.classification.category_model import MAX_CHARS, CategoryModel, Segmenter, lists_words

_CJK = re.compile(r"[\u4e00-\u9fff]")
# What the submitter's own choice of matter (an Open311 service_code) counts for, in place of a
# keyword confidence. Averaged with the model's probability of the matter's category it reaches
# the default matter threshold (0.5) when that probability is at least 0.1: a choice the model
# does not contradict is taken; one it does goes to an operator, or loses to the keywords.
CHOSEN_CONFIDENCE = 0.9


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


def _prepared(text: str) -> tuple[str, bool]:
    """The text as classified: stripped, cut at MAX_CHARS; and whether it was cut."""
    text = text.strip()
    return text[:MAX_CHARS], len(text) > MAX_CHARS


class Classifier:
    def __init__(self, lists: Lists, model: CategoryModel | None) -> None:
        self.lists = lists
        self.model = model
        self.segmenter = Segmenter(lists_words(lists))

    @property
    def version(self) -> str:
        return self.model.version if self.model else "keywords-only"

    def categories(self, text: str) -> tuple[tuple[str, float], ...]:
        return self.categories_many([text])[0]

    def categories_many(self, texts: Sequence[str]) -> list[tuple[tuple[str, float], ...]]:
        """First-level categories with their probabilities, best first, for each text."""
        if self.model is None:
            return [() for _ in texts]
        classes = self.model.classes
        ranked: list[tuple[tuple[str, float], ...]] = []
        for row in self.model.probabilities(texts, self.segmenter).tolist():
            order = sorted(range(len(classes)), key=row.__getitem__, reverse=True)
            ranked.append(tuple((classes[c], round(row[c], 4)) for c in order))
        return ranked

    def classify(self, text: str, *, chosen: str | None = None) -> Decision:
        """The matter of one text; `chosen`: the matter code the submitter picked, if any."""
        text, truncated = _prepared(text)
        return self._decide(text, truncated, None, chosen)

    def classify_many(
        self, texts: Sequence[str], chosen: Sequence[str | None] | None = None
    ) -> list[tuple[tuple[tuple[str, float], ...], Decision | Undecided]]:
        """Many texts at once (the service's polled batches, the batch tool): each text's
        categories, even for a text with no Chinese, and its decision or why there is none."""
        prepared = [_prepared(text) for text in texts]
        categories = self.categories_many([text for text, _ in prepared])
        answers: list[tuple[tuple[tuple[str, float], ...], Decision | Undecided]] = []
        for (text, truncated), ranked, choice in zip(
            prepared, categories, chosen or [None] * len(texts), strict=True
        ):
            try:
                answers.append((ranked, self._decide(text, truncated, ranked, choice)))
            except Undecided as undecided:
                answers.append((ranked, undecided))
        return answers

    def _decide(
        self,
        text: str,
        truncated: bool,
        categories: tuple[tuple[str, float], ...] | None,
        chosen: str | None,
    ) -> Decision:
        if not _CJK.search(text):
            raise Undecided("the text has no Chinese to classify")
        if categories is None:
            categories = self.categories(text)
        probability = dict(categories)
        hits = rules.keyword_hits(self.lists, text)
        choice = self.lists.matters_by_code.get(chosen) if chosen else None
        if choice is not None and all(hit.matter.code != choice.code for hit in hits):
            hits.append(rules.KeywordHit(choice, 0, ()))  # chosen, though no keyword says so
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
            if choice is not None and hit.matter.code == choice.code:
                keyword = max(keyword, CHOSEN_CONFIDENCE)
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
        rule = f"model:{self.version}"
        if best_hit.keywords:
            rule = f"keywords:{','.join(best_hit.keywords)}; {rule}"
        if choice is not None and best_hit.matter.code == choice.code:
            rule = f"chosen:{choice.code}; {rule}"
        return Decision(best_hit.matter, confidence, rule, alternatives, categories[:3], truncated)
