"""`make eval-routing`: routing decisions measured against the bodies that really answered (the
official replies), on a held-out part that no choice was tuned on. Figures printed, never asserted.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.lists import Lists
from services.classification.replies import Outcome, read_outcomes

# Where the evaluation places every message: a community of 吴兴区月河街道 that no override
# touches, so each level of the power list (community, street, district, city) is on its chain.
# The messages come from an anonymised province (A市, A3区); their own places are not Huzhou's.
EVAL_UNIT = "330502001016"

_ANON = re.compile(r"[A-Z]\d*[市区县]|[A-Z]\d+|\d+|\s+")
HELD_OUT_BUCKETS = 4  # a group is held out when its hash is 0 modulo this: about a quarter


@dataclass(frozen=True, slots=True)
class Labelled:
    """A message with the department type that really answered it, and its near-duplicate group."""

    id: str
    content: str
    truth: str
    group: str


def content_of(title: str, text: str) -> str:
    """What the routing decision reads of a message: its title, then its text."""
    return f"{title}。{text}"


def groups(outcomes: Sequence[Outcome]) -> list[str]:
    """Near-duplicate groups: the same title once place names and numbers are removed, or the
    same first 60 characters of text likewise, merged transitively (as the category model's
    split does). A group is named by its first member's key."""
    parent = list(range(len(outcomes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, outcome in enumerate(outcomes):
        title = _ANON.sub("", outcome.title)[:30]
        body = _ANON.sub("", outcome.text)[:60]
        for key in (f"title:{title}" if title else "", f"text:{body}" if body else ""):
            if key:
                parent[root(i)] = root(first.setdefault(key, i))
    return [
        f"{outcomes[root(i)].id}:{_ANON.sub('', outcomes[root(i)].title)[:30]}"
        for i in range(len(outcomes))
    ]


def held_out(group: str) -> bool:
    """The deterministic split: a group is held out when the SHA-256 of its key is 0 modulo
    HELD_OUT_BUCKETS. The key is the group's first member's id and title, so a group never
    straddles the split."""
    digest = hashlib.sha256(group.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % HELD_OUT_BUCKETS == 0


@dataclass(frozen=True, slots=True)
class Dataset:
    train: list[Labelled]
    test: list[Labelled]
    unnamed: int  # replies that name no body the lists know: left out, counted
    total: int


def dataset() -> Dataset:
    outcomes = list(read_outcomes())
    keys = groups(outcomes)
    train: list[Labelled] = []
    test: list[Labelled] = []
    unnamed = 0
    for outcome, group in zip(outcomes, keys, strict=True):
        if outcome.body is None:
            unnamed += 1
            continue
        labelled = Labelled(
            outcome.id, content_of(outcome.title, outcome.text), outcome.body.type, group
        )
        (test if held_out(group) else train).append(labelled)
    return Dataset(train, test, unnamed, len(outcomes))


@dataclass(frozen=True, slots=True)
class Routed:
    """One routing decision as the evaluation sees it: the department type, or None (triage)."""

    department_type: str | None


def report(
    name: str, rows: Sequence[Labelled], decide: Callable[[list[str]], list[Routed]]
) -> dict[str, float]:
    """Print coverage, accuracy among routed and over all, per-type recall, top confusions and
    the constant baseline for one decision function on `rows`; returns the headline figures."""
    decisions = decide([row.content for row in rows])
    truth = [row.truth for row in rows]
    routed = [
        (t, d.department_type) for t, d in zip(truth, decisions, strict=True) if d.department_type
    ]
    right = sum(1 for t, d in routed if t == d)
    n = len(rows)
    coverage = len(routed) / n if n else 0.0
    among = right / len(routed) if routed else 0.0
    overall = right / n if n else 0.0
    counts = Counter(truth)
    most, most_n = counts.most_common(1)[0]
    print(f"\n{name}: {n} messages")
    print(f"  coverage (not sent to triage)       {coverage:.3f}  ({len(routed)} of {n})")
    print(f"  department type right, among routed {among:.3f}  ({right} of {len(routed)})")
    print(f"  department type right, over all     {overall:.3f}  (triage counts as not routed)")
    print(f"  constant baseline (always {most})   {most_n / n:.3f}")
    print("  recall per type (right / answered by that type; routed elsewhere; to triage):")
    for kind, total in counts.most_common():
        got = sum(
            1
            for t, d in zip(truth, decisions, strict=True)
            if t == kind and d.department_type == kind
        )
        triaged = sum(
            1
            for t, d in zip(truth, decisions, strict=True)
            if t == kind and d.department_type is None
        )
        print(f"    {kind:<22} {got / total:.2f}  ({got}/{total}; triage {triaged})")
    confusions = Counter((t, d) for t, d in routed if t != d).most_common(8)
    print("  top confusions (answered by -> routed to):")
    for (t, d), k in confusions:
        print(f"    {t} -> {d}: {k}")
    return {"coverage": coverage, "among": among, "overall": overall, "baseline": most_n / n}


def stamp() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


def _routed(routes: Sequence[Any]) -> list[Routed]:
    return [Routed(None if r.triage else r.department_type) for r in routes]


SWEEP = (0.3, 0.35, 0.4, 0.45, 0.5, 0.6)


def sweep(name: str, truth: Sequence[str], chosen: Sequence[str], chances: Sequence[float]) -> None:
    """Coverage and accuracy of one decision at other triage thresholds (its calibrated chance
    of being right against each threshold)."""
    print(f"  {name}: threshold -> coverage / right among routed / right over all")
    n = len(truth)
    for threshold in SWEEP:
        routed = [(t, c) for t, c, p in zip(truth, chosen, chances, strict=True) if p >= threshold]
        right = sum(1 for t, c in routed if t == c)
        among = right / len(routed) if routed else 0.0
        print(f"    {threshold:.2f}  {len(routed) / n:.3f} / {among:.3f} / {right / n:.3f}")


def evaluate_routing(
    lists: Lists, *, threshold: float, matter_threshold: float, cv_only: bool = False
) -> None:
    """Print the extraction's figures, then today's decision (keywords and the category model,
    the matter's handling level) and the evidence-based decision on the held-out part; with
    `cv_only`, the evidence-based decision's 5-fold figures on the training part alone."""
    from services.classification.category_model import DEFAULT_ARTIFACT, CategoryModel
    from services.classification.classifier import Classifier
    from services.classification.routing_model import Router
    from services.classification.routing_training import train_type_model

    started = time.perf_counter()
    data = dataset()
    named = data.total - data.unnamed
    print(f"date                {stamp()} · lists {lists.version} · unit {EVAL_UNIT}")
    print(
        f"replies             {data.total}; answering body named and of a type of the lists:"
        f" {named}; left out (no body the lists know): {data.unnamed}"
    )
    print(
        f"split               {len(data.train)} training / {len(data.test)} held out"
        f" (near-duplicate groups; SHA-256 of the group key mod {HELD_OUT_BUCKETS} == 0)"
    )
    classifier = Classifier(lists, CategoryModel.load(DEFAULT_ARTIFACT))
    texts = [row.content for row in data.train]
    labels = [row.truth for row in data.train]
    model, out_of_fold = train_type_model(
        lists, classifier, texts, labels, [row.group for row in data.train]
    )
    print(f"type model trained  {time.perf_counter() - started:.1f} s (with the 5 folds)")
    if cv_only:
        top = out_of_fold.max(axis=1)
        chosen = [model.types[i] for i in out_of_fold.argmax(axis=1)]
        chances = [model.calibrated(float(p)) for p in top]
        decisions = {
            row.content: Routed(kind if chance >= threshold else None)
            for row, kind, chance in zip(data.train, chosen, chances, strict=True)
        }
        report(
            "5-fold cross-validation on the training part (type model alone)",
            data.train,
            lambda batch: [decisions[text] for text in batch],
        )
        sweep("the same folds", labels, chosen, chances)
        return
    today = Router(lists, classifier, None)
    report(
        "today: keywords + category model, the matter's handling level",
        data.test,
        lambda batch: _routed(
            today.route_many(batch, [EVAL_UNIT] * len(batch), threshold=matter_threshold)
        ),
    )
    router = Router(lists, classifier, model)
    report(
        "evidence: keywords + category model + department-type model (held out)",
        data.test,
        lambda batch: _routed(
            router.route_many(batch, [EVAL_UNIT] * len(batch), threshold=threshold)
        ),
    )
    routes = router.route_many(
        [row.content for row in data.test], [EVAL_UNIT] * len(data.test), threshold=0.0
    )
    sweep(
        "evidence, held out",
        [row.truth for row in data.test],
        [r.department_type or "" for r in routes],
        [r.confidence for r in routes],
    )
    levels = Counter(
        (r.level.value if r.level else "-", r.matter.handling_level.value if r.matter else "-")
        for r in routes
    )
    chosen_levels = ", ".join(f"{a} ({b}) {k}" for (a, b), k in levels.most_common())
    print(f"  level chosen (the matter's handling level), every held-out message: {chosen_levels}")
    print(
        f"\nthresholds: today {matter_threshold} (matter), evidence {threshold} (chance of the"
        f" department type) · {time.perf_counter() - started:.1f} s in all"
    )
