"""Matter, level and department from evidence: the catalogue's keywords, the category model and
a model of the department type learnt from dispatch history (the bodies that really answered).

The department-type model is a multinomial logistic regression over three blocks: the text's
characters and character pairs (hashed), the category model's probabilities, and the department
types the keyword layer's matters lead to under the power list (at the matter's handling level,
and at its other levels). It gives each department type a probability. The decision then keeps
the lists as law: it chooses a (matter, level) whose power-list rule names that type — a keyword
matter first, else the catalogue matter that fits the text best — and records that rule. The
confidence is the type's probability, calibrated (isotonic, on cross-validated predictions of the
training part) so that a threshold of 0.5 would mean "right at least half the time"; the
default, 0.4 (ROUTING_THRESHOLD), was chosen by cross-validation.
"""

from __future__ import annotations

import bisect
import gzip
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from contracts.jurisdiction import Level, chain_of, level_of
from contracts.lists import Lists, Matter, NoOwner
from services.classification import rules
from services.classification.category_model import MAX_CHARS, lead
from services.classification.classifier import CHOSEN_CONFIDENCE, Classifier, Decision, Undecided
from services.classification.routing_options import Option, chain_shape, options, rule_leads

_CJK = re.compile(r"[\u4e00-\u9fff]")  # as the classifier: a text without Chinese is not decided
ARTIFACT = Path(__file__).parent / "artifacts" / "routing-model.pkl.gz"
HASH_BITS = 15  # 32,768 hashed columns for the characters and character pairs
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads keys evenly

# The triage threshold of the evidence-based decision: its confidence is the calibrated chance
# that the department type is right. 0.4 was chosen by 5-fold GroupKFold on the evaluation's
# training part (the most right over all with at least 80 % routed); LIANDONG_CLASSIFICATION_
# ROUTING_THRESHOLD changes it.
ROUTING_THRESHOLD = 0.4
MATTER_THRESHOLD = 0.5  # the classifier's own default (LIANDONG_CLASSIFICATION_MATTER_THRESHOLD)

# Chosen by 5-fold GroupKFold on the evaluation's training part only (docs/routing-evaluation.md).
PARAMS: dict[str, Any] = {
    "classifier": "linear-svm",  # one-vs-rest; as good as a logistic regression, 100x faster
    "C": 0.5,
    "temperature": 3.0,  # softmax over the SVM's scores: a ranking; calibrated below
    "lead_weight": 1.0,  # the lead (title) as a block of its own: 0.584 against 0.563 top-1
    "category_weight": 1.0,
    "keyword_weight": 1.0,
    "hash_bits": HASH_BITS,
    "fit_keyword": 1.0,  # a keyword matter's confidence, in choosing the matter of a type
    "fit_category": 1.0,  # the probability of the matter's category, likewise
    "fit_handling": 0.15,  # the matter's own handling level, over its other levels
    "seed": 7,
}


def _char_block(texts: Sequence[str], bits: int) -> sparse.csr_matrix:
    """Each text's characters and adjacent character pairs, hashed into 2**bits columns,
    sublinear counts, each row of unit length. The whole batch in one pass of array operations
    (a pass per text cost more in calls than in arithmetic)."""
    width = 1 << bits
    if not texts:
        return sparse.csr_matrix((0, width))
    codes = [np.frombuffer(t.encode("utf-32-le", "surrogatepass"), dtype=np.uint32) for t in texts]
    lengths = np.fromiter(map(len, codes), dtype=np.int64, count=len(codes))
    every = np.concatenate(codes).astype(np.uint64)
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    within = rows[:-1] == rows[1:]  # a pair never spans two texts
    pairs = (every[:-1] << np.uint64(21)) | every[1:] | (np.uint64(1) << np.uint64(63))
    keys = np.concatenate((every, pairs[within]))
    shift = np.uint64(64 - bits)
    columns = ((keys * _HASH_MULTIPLIER) >> shift).astype(np.int64)
    cells, counts = np.unique(
        np.concatenate((rows, rows[:-1][within])) * width + columns, return_counts=True
    )
    cell_rows = cells // width
    values = np.log1p(counts.astype(np.float64))
    norms = np.sqrt(np.bincount(cell_rows, weights=values * values, minlength=len(texts)))
    values /= norms[cell_rows]  # a row with entries has a norm above zero
    indptr = np.concatenate(([0], np.cumsum(np.bincount(cell_rows, minlength=len(texts)))))
    return sparse.csr_matrix((values, cells % width, indptr), shape=(len(texts), width))


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the layers say of one text, before the department type is chosen."""

    categories: tuple[tuple[str, float], ...]
    hits: tuple[tuple[Matter, float], ...]  # keyword matters with their keyword confidence
    decision: Decision | Undecided | None  # the keyword layer's own answer (without a type model)
    truncated: bool = False
    chinese: bool = True


class TypeModel:
    """Department-type probabilities of texts, from the three blocks (see the module's note)."""

    def __init__(
        self,
        *,
        types: list[str],
        categories: list[str],
        weights: np.ndarray,
        intercept: np.ndarray,
        calibration: tuple[np.ndarray, np.ndarray],
        version: str,
        params: dict[str, Any],
    ) -> None:
        self.types = types
        self.categories = categories
        self.weights = weights
        self.intercept = intercept
        self.calibration = calibration
        self.version = version
        self.params = params
        self._type_index = {t: i for i, t in enumerate(types)}
        self._category_index = {c: i for i, c in enumerate(categories)}
        self._steps = (
            [float(x) for x in calibration[0]],
            [float(y) for y in calibration[1]],
        )

    @staticmethod
    def features(
        lists: Lists,
        texts: Sequence[str],
        evidence: Sequence[Evidence],
        types: list[str],
        categories: list[str],
        params: dict[str, Any],
    ) -> sparse.csr_matrix:
        """The three blocks of each text. The keyword block reads the power list's rules of each
        keyword matter (the unit's overrides are left to the decision: they are evidence of a
        place, not of the text)."""
        chars = _char_block(texts, params["hash_bits"])
        # The lead (a message's title, a demand's first sentence) again on its own: short and to
        # the point. An artifact trained before this block has no lead_weight, hence 0.
        lead_weight = params.get("lead_weight", 0.0)
        if lead_weight:
            leads_block = _char_block([lead(text) for text in texts], params["hash_bits"])
            chars = sparse.hstack((chars, leads_block * lead_weight))
        type_index = {t: i for i, t in enumerate(types)}
        category_index = {c: i for i, c in enumerate(categories)}
        leads = rule_leads(lists)
        dense = np.zeros((len(texts), len(categories) + 2 * len(types)))
        for row, item in enumerate(evidence):
            for name, probability in item.categories:
                if name in category_index:
                    dense[row, category_index[name]] = probability * params["category_weight"]
            for matter, confidence in item.hits:
                for level, kind in leads.get(matter.code, ()):
                    column = type_index.get(kind)
                    if column is None:
                        continue
                    other = level is not matter.handling_level
                    offset = len(categories) + (len(types) if other else 0)
                    value = confidence * params["keyword_weight"]
                    dense[row, offset + column] = max(dense[row, offset + column], value)
        return sparse.hstack((chars, sparse.csr_matrix(dense))).tocsr()

    def probabilities(self, features: sparse.csr_matrix) -> np.ndarray:
        """A softmax over the SVM's scores (times the temperature): the types' ranking."""
        scores = (features @ self.weights + self.intercept) * self.params["temperature"]
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        result: np.ndarray = scores / scores.sum(axis=1, keepdims=True)
        return result

    def calibrated(self, probability: float) -> float:
        """The chance that the most probable type is right, read off the isotonic steps."""
        # As np.interp over the steps, in plain Python: called once per demand, where numpy's
        # call costs more than the search.
        xs, ys = self._steps
        at = bisect.bisect_right(xs, probability)
        if at == 0:
            return ys[0]
        if at == len(xs):
            return ys[-1]
        x0, x1, y0, y1 = xs[at - 1], xs[at], ys[at - 1], ys[at]
        return y0 if x1 == x0 else y0 + (y1 - y0) * (probability - x0) / (x1 - x0)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "types": self.types,
            "categories": self.categories,
            "weights": self.weights,
            "intercept": self.intercept,
            "calibration": self.calibration,
            "version": self.version,
            "params": self.params,
        }
        path.write_bytes(gzip.compress(pickle.dumps(payload, protocol=5), compresslevel=3))

    @classmethod
    def load(cls, path: Path) -> TypeModel:
        # Our own artifact, built by `make model` (a pickle runs code: never load a foreign one).
        payload = pickle.loads(gzip.decompress(path.read_bytes()))  # noqa: S301
        return cls(**payload)


@dataclass(frozen=True, slots=True)
class Proposal:
    """One way to route a demand, with the evidence for it."""

    matter: str
    level: str
    department_type: str
    probability: float  # of the department type, calibrated
    rule: str


@dataclass(frozen=True, slots=True)
class Route:
    """The routing decision for one demand: what classification publishes, or why it triages."""

    matter: Matter | None
    level: Level | None
    department_type: str | None
    department_id: str | None
    confidence: float
    triage: bool
    rule: str
    reason: str | None
    categories: tuple[tuple[str, float], ...] = ()
    proposals: tuple[Proposal, ...] = field(default=())
    truncated: bool = False


def _fit(
    option: Option,
    keyword: dict[str, float],
    categories: dict[str, float],
    params: dict[str, Any],
) -> float:
    """How well a (matter, level) fits a text whose department type is already chosen."""
    category = categories.get(option.matter.category, 0.0)
    return float(
        params["fit_keyword"] * keyword.get(option.matter.code, 0.0)
        + params["fit_category"] * category
        + params["fit_handling"] * (option.level is option.matter.handling_level)
    )


class Router:
    """The one decision function: the classification service's handler, `liandong route` and the
    evaluation all call `route_many`."""

    def __init__(
        self,
        lists: Lists,
        classifier: Classifier,
        model: TypeModel | None,
        *,
        threshold: float = ROUTING_THRESHOLD,
    ) -> None:
        self.lists = lists
        self.classifier = classifier
        self.model = model
        self.threshold = threshold  # the type model's triage threshold (its calibrated chance)
        self._candidates: dict[tuple[object, ...], dict[str, list[Option]]] = {}
        self._best: dict[tuple[tuple[object, ...], str], list[Option]] = {}
        self._by_matter: dict[
            tuple[tuple[object, ...], str], dict[str, list[tuple[int, Option]]]
        ] = {}
        self._targets: dict[tuple[str, Level], str] = {}

    def candidates(self, unit: str) -> dict[str, list[Option]]:
        """Every (matter, level) of the lists on the unit's chain, by the type it leads to
        (worked out once per shape of chain: its levels and the overrides on it)."""
        shape = chain_shape(self.lists, unit)
        found = self._candidates.get(shape)
        if found is None:
            found = {}
            for matter in self.lists.matters:
                for option in options(self.lists, matter, unit):
                    found.setdefault(option.department_type, []).append(option)
            self._candidates[shape] = found
        return found

    def _category_best(self, unit: str, kind: str) -> list[Option]:
        """For a type at a unit's shape of chain: per category, the option a text without a
        keyword would choose (the first in the catalogue at its handling level, else the first)."""
        key = (chain_shape(self.lists, unit), kind)
        best = self._best.get(key)
        if best is None:
            per_category: dict[str, Option] = {}
            for option in self.candidates(unit).get(kind, []):
                held = per_category.get(option.matter.category)
                handling = option.level is option.matter.handling_level
                if held is None or (handling and held.level is not held.matter.handling_level):
                    per_category[option.matter.category] = option
            best = list(per_category.values())
            self._best[key] = best
        return best

    def _keyword_options(self, unit: str, kind: str, keyword: dict[str, float]) -> list[Option]:
        """The options of a type at a unit whose matter a keyword named (by matter, cached per
        shape of chain: a demand names a few matters, a type has hundreds of options)."""
        key = (chain_shape(self.lists, unit), kind)
        by_matter = self._by_matter.get(key)
        if by_matter is None:
            by_matter = {}
            for place, option in enumerate(self.candidates(unit).get(kind, [])):
                by_matter.setdefault(option.matter.code, []).append((place, option))
            self._by_matter[key] = by_matter
        # In the catalogue's order, as all the options are: the first of equals wins.
        found = sorted(pair for code in keyword for pair in by_matter.get(code, ()))
        return [option for _, option in found]

    def _target(self, unit: str, level: Level) -> str:
        """The unit on the chain at that level (cached: the same few units recur)."""
        found = self._targets.get((unit, level))
        if found is None:
            found = next(c for c in chain_of(unit) if level_of(c) is level)
            self._targets[(unit, level)] = found
        return found

    @property
    def version(self) -> str:
        return f"{self.classifier.version}+{self.model.version if self.model else 'no-type-model'}"

    def evidence_many(
        self,
        texts: Sequence[str],
        chosen: Sequence[str | None] | None = None,
        *,
        decide: bool = False,
    ) -> list[Evidence]:
        """The category probabilities and keyword matters of each text; with `decide`, also the
        keyword layer's own decision (today's, for a router without a type model)."""
        answers: list[tuple[tuple[tuple[str, float], ...], Decision | Undecided | None]]
        if decide:
            answers = list(self.classifier.classify_many(texts, chosen))
        else:
            prepared = [text.strip() for text in texts]
            ranked = self.classifier.categories_many([text[:MAX_CHARS] for text in prepared])
            answers = [(categories, None) for categories in ranked]
        result: list[Evidence] = []
        for text, choice, (categories, decision) in zip(
            texts, chosen or [None] * len(texts), answers, strict=True
        ):
            text = text.strip()
            hits = rules.keyword_hits(self.lists, text[:MAX_CHARS])
            scored = [(hit.matter, rules.keyword_confidence(hits, i)) for i, hit in enumerate(hits)]
            picked = self.lists.matters_by_code.get(choice) if choice else None
            if picked is not None:  # the submitter's choice counts as a keyword (as classify's)
                scored = [(m, c) for m, c in scored if m.code != picked.code]
                scored.append((picked, CHOSEN_CONFIDENCE))
            result.append(
                Evidence(
                    categories,
                    tuple(scored),
                    decision,
                    len(text) > MAX_CHARS,
                    _CJK.search(text) is not None,
                )
            )
        return result

    def route_many(
        self,
        texts: Sequence[str],
        unit_codes: Sequence[str],
        *,
        threshold: float | None = None,
        chosen: Sequence[str | None] | None = None,
    ) -> list[Route]:
        """The decision for each text at its unit. `threshold`: below it a demand goes to
        triage; by default the router's own (the type model's calibrated chance), or without a
        type model the classifier's matter threshold (0.5)."""
        if threshold is None:
            threshold = self.threshold if self.model is not None else MATTER_THRESHOLD
        evidence = self.evidence_many(texts, chosen, decide=self.model is None)
        if self.model is None:
            return [
                self._keywords_only(item, unit, threshold)
                for item, unit in zip(evidence, unit_codes, strict=True)
            ]
        model = self.model
        routes: list[Route] = []
        features = TypeModel.features(
            self.lists,
            [text[:MAX_CHARS] for text in texts],
            evidence,
            model.types,
            model.categories,
            model.params,
        )
        probabilities = model.probabilities(features)
        for i, item in enumerate(evidence):
            routes.append(self._decide(item, probabilities[i], unit_codes[i], threshold))
        return routes

    def _keywords_only(self, item: Evidence, unit: str, threshold: float) -> Route:
        """Today's decision: the classifier's matter at its handling level (no type model)."""
        decision = item.decision
        if decision is None or isinstance(decision, Undecided):
            return Route(
                None, None, None, None, 0.0, True, "triage", str(decision), item.categories
            )
        try:
            owner = self.lists.owner(decision.matter.code, unit)
        except NoOwner as exc:  # the dispute path
            return Route(
                decision.matter,
                None,
                None,
                None,
                decision.confidence,
                True,
                "triage",
                str(exc),
                item.categories,
            )
        triage = decision.confidence < threshold
        return Route(
            decision.matter,
            owner.level,
            owner.lead.type,
            owner.lead.id,
            decision.confidence,
            triage,
            f"{decision.rule}; {owner.rule}",
            f"matter confidence {decision.confidence:.2f} is below {threshold:.2f}"
            if triage
            else None,
            item.categories,
            truncated=decision.truncated,
        )

    def _proposals(
        self, item: Evidence, probability: np.ndarray, unit: str, threshold: float
    ) -> list[tuple[Proposal, Option]]:
        """The best (matter, level) of each type, most probable type first: the top one, and
        the runners-up when the top one is below the threshold (for the triage operator)."""
        assert self.model is not None
        model = self.model
        keyword = {matter.code: confidence for matter, confidence in item.hits}
        categories = dict(item.categories)
        candidates = self.candidates(unit)
        proposals: list[tuple[Proposal, Option]] = []
        for index in np.argsort(-probability):
            kind = model.types[int(index)]
            if not candidates.get(kind):
                continue
            # The best option of a type: one of a keyword matter, or the best of each category
            # (the rest differ from it only in fit terms that are zero without a keyword).
            tried = self._keyword_options(unit, kind, keyword)
            tried.extend(self._category_best(unit, kind))
            best = max(tried, key=lambda o: _fit(o, keyword, categories, model.params))
            chance = round(model.calibrated(float(probability[index])), 4)
            evidence = [f"keywords:{best.matter.code}"] if best.matter.code in keyword else []
            evidence.append(f"type:{kind} p={float(probability[index]):.2f}")
            rule = (
                f"power:{best.matter.code}@{best.level.value}->{kind}"
                f" ({'; '.join(evidence)}; model:{self.version})"
            )
            proposals.append(
                (Proposal(best.matter.code, best.level.value, kind, chance, rule), best)
            )
            if len(proposals) == 3 or proposals[0][0].probability >= threshold:
                break
        return proposals

    def _decide(
        self, item: Evidence, probability: np.ndarray, unit: str, threshold: float
    ) -> Route:
        if not item.chinese:
            return Route(
                None, None, None, None, 0.0, True, "triage",
                "the text has no Chinese to classify", item.categories,
            )  # fmt: skip
        proposals = self._proposals(item, probability, unit, threshold)
        if not proposals:
            return Route(
                None,
                None,
                None,
                None,
                0.0,
                True,
                "triage",
                "no matter of the lists fits",
                item.categories,
            )
        top, option = proposals[0]
        if top.probability < threshold:
            fallback = self._keyword_fallback(item, unit, top.probability, proposals)
            if fallback is not None:
                return fallback
        target = self._target(unit, option.level)
        department = self.lists.department_of_type(option.department_type, target)
        triage = top.probability < threshold or department is None
        reason = None
        if department is None:
            reason = f"no {option.department_type} department at unit {target}"
        elif triage:
            reason = (
                f"department type {top.department_type} (matter {top.matter}) has a chance of "
                f"{top.probability:.2f}, below {threshold:.2f}"
            )
        return Route(
            option.matter,
            option.level,
            option.department_type,
            department.id if department else None,
            top.probability,
            triage,
            top.rule,
            reason,
            item.categories,
            tuple(p for p, _ in proposals),
            item.truncated,
        )

    def _keyword_fallback(
        self,
        item: Evidence,
        unit: str,
        chance: float,
        proposals: list[tuple[Proposal, Option]],
    ) -> Route | None:
        """Today's decision as a floor: when the type model is unsure, a keyword matter the
        category model does not contradict (the classifier's confidence, 0.5 keyword + 0.5
        category probability, at least MATTER_THRESHOLD and unrivalled) routes at its handling
        level, as before. A demand today's pipeline dispatched is not sent to triage for want of
        history that resembles it (short, catalogue-like texts)."""
        categories = dict(item.categories)
        scored = sorted(
            (
                (
                    round(confidence * 0.9, 4)
                    if matter.category not in categories
                    else round(0.5 * confidence + 0.5 * categories[matter.category], 4),
                    matter,
                )
                for matter, confidence in item.hits
            ),
            key=lambda pair: pair[0],
            reverse=True,
        )
        if not scored or scored[0][0] < MATTER_THRESHOLD:
            return None
        if len(scored) > 1 and scored[1][0] == scored[0][0]:
            return None
        confidence, matter = scored[0]
        try:
            owner = self.lists.owner(matter.code, unit)
        except NoOwner:
            return None
        rule = (
            f"keywords:{matter.code} ({confidence:.2f}); {owner.rule}"
            f" (type model unsure: p={chance:.2f}; model:{self.version})"
        )
        return Route(
            matter,
            owner.level,
            owner.lead.type,
            owner.lead.id,
            confidence,
            False,
            rule,
            None,
            item.categories,
            tuple(p for p, _ in proposals),
            item.truncated,
        )
