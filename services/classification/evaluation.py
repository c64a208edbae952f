"""`make eval-classifier` and `make bench-classifier`: figures, printed, never asserted."""

from __future__ import annotations

import contextlib
import csv
import os
import platform
import random
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold

from contracts.events import Location
from contracts.jurisdiction import Level, chain_of
from contracts.lists import Lists
from services.classification import rules
from services.classification.category_model import (
    CategoryModel,
    Segmenter,
    lists_words,
    read_examples,
    split,
)
from services.classification.classifier import Classifier, Undecided


def _machine() -> str:
    return f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"


def evaluate(lists: Lists, *, threshold: float) -> None:
    examples = read_examples()
    train, test = split(examples)
    segmenter = Segmenter(lists_words(lists))
    started = time.perf_counter()
    model = CategoryModel.train(
        [examples[i].text for i in train],
        [examples[i].label for i in train],
        segmenter,
        version="eval",
    )
    trained = time.perf_counter() - started
    texts = [examples[i].text for i in test]
    truth = [examples[i].label for i in test]
    probabilities = model.probabilities(texts, segmenter)
    predicted = np.array(model.classes)[probabilities.argmax(axis=1)]
    accuracy, macro_f1, top3 = _scores(truth, probabilities, model.classes)
    print(f"date                {datetime.now(UTC):%Y-%m-%d} · machine {_machine()}")
    print(
        f"split               {len(train)} training / {len(test)} held-out, by near-duplicate group"
    )
    print(f"trained in          {trained:.1f} s")
    print(f"accuracy            {accuracy:.4f}")
    print(f"macro-F1            {macro_f1:.4f}")
    print(f"top-3 accuracy      {top3:.4f}")
    per_class = f1_score(truth, predicted, average=None, labels=model.classes)
    for name, score in zip(model.classes, per_class, strict=True):
        print(f"  F1 {name:<10} {score:.4f}  ({Counter(truth)[name]} held out)")
    classifier = Classifier(lists, model)
    classifier.segmenter = segmenter
    triaged = 0
    for text in texts:
        try:
            if classifier.classify(text).confidence < threshold:
                triaged += 1
        except Undecided:
            triaged += 1
    print(f"matter to triage    {triaged / len(texts):.1%} of held-out at threshold {threshold}")
    correct, total = unit_resolution(lists)
    print(f"unit from address   {correct / total:.4f} correct on {total} generated addresses")


def _scores(truth: list[str], probabilities: np.ndarray, classes: list[str]) -> list[float]:
    """Accuracy, macro-F1 and top-3 accuracy of class probabilities against the truth."""
    names = np.array(classes)
    predicted = names[probabilities.argmax(axis=1)]
    top3 = names[np.argsort(-probabilities, axis=1)[:, :3]]
    return [
        float(accuracy_score(truth, predicted)),
        float(f1_score(truth, predicted, average="macro")),
        float(np.mean([t in row for t, row in zip(truth, top3, strict=True)])),
    ]


def cross_validate(lists: Lists, *, folds: int = 5) -> None:
    """GroupKFold over the training part of the held-out split only (the same near-duplicate
    groups), with the model as PARAMS define it: the figures to choose a change by. The held-out
    part is never read here; `make eval-classifier` reports on it once a change is chosen."""
    examples = read_examples()
    train, _ = split(examples)
    part = [examples[i] for i in train]
    segmenter = Segmenter(lists_words(lists))
    started = time.perf_counter()
    rows = []
    splits = GroupKFold(n_splits=folds).split(part, groups=[e.group for e in part])
    print(f"date                {datetime.now(UTC):%Y-%m-%d} · machine {_machine()}")
    print(f"folds               {folds}-fold GroupKFold on the {len(part)} training messages")
    print("                    accuracy / macro-F1 / top-3")
    for fold, (fit, check) in enumerate(splits, start=1):
        model = CategoryModel.train(
            [part[i].text for i in fit], [part[i].label for i in fit], segmenter, version="cv"
        )
        truth = [part[i].label for i in check]
        rows.append(
            _scores(
                truth, model.probabilities([part[i].text for i in check], segmenter), model.classes
            )
        )
        print(f"fold {fold}              " + " / ".join(f"{v:.4f}" for v in rows[-1]))
    table = np.array(rows)
    for name, column in zip(("accuracy", "macro-F1", "top-3 accuracy"), table.T, strict=True):
        print(f"{name:<19} {column.mean():.4f} ± {column.std():.4f} (mean ± standard deviation)")
    print(f"took                {time.perf_counter() - started:.0f} s")


def _short(name: str) -> str:
    """How people write a committee's name: 凤凰村委会 -> 凤凰村, 车站社区居委会 -> 车站社区."""
    if name.endswith("村委会"):
        return name[: -len("村委会")] + "村"
    if name.endswith("居委会"):
        return name[: -len("居委会")]
    return name


def unit_resolution(lists: Lists, *, seed: int = 7) -> tuple[int, int]:
    """Addresses built from the registry with realistic variations: full chain with house number,
    district left out, street left out, and the committee suffix dropped."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    units = lists.units_by_code
    correct = total = 0
    for unit in lists.units:
        if unit.level is not Level.community:
            continue
        _, street, district, city = (units[c].name for c in chain_of(unit.code))
        number = f"{rng.randint(1, 399)}号"
        variants = [
            f"{city}{district}{street}{_short(unit.name)}{number}",
            f"{street}{_short(unit.name)}{rng.randint(1, 30)}幢{rng.randint(101, 1802)}室",
            f"{district}{_short(unit.name)}{number}附近",
            f"{district}{street}{unit.name}旁",
        ]
        for address in variants:
            total += 1
            with contextlib.suppress(rules.NotConfident):
                correct += rules.locate(lists, Location(address=address)).unit.code == unit.code
    return correct, total


def bench(lists: Lists, model_path: Path, *, count: int, batch: int) -> None:
    """Demands per CPU-second of the classification step, one demand at a time (an idle
    service) and in batches (the service under load: a poll brings many demands)."""
    started = time.perf_counter()
    model = CategoryModel.load(model_path)
    classifier = Classifier(lists, model)
    loaded = time.perf_counter() - started
    path = (
        Path(__file__).resolve().parents[3]
        / "shared"
        / "data"
        / "citizen-messages"
        / "messages_hot_topics_unlabelled.csv"
    )
    with path.open(encoding="utf-8") as f:
        rows = [f"{r['title']}。{r['text']}" for r in csv.DictReader(f)]
    texts = [rows[i % len(rows)] for i in range(count)]
    addresses = [
        Location(address=f"吴兴区{u.name}") for u in lists.units if u.level is Level.community
    ]

    def in_batches(size: int) -> None:
        """As the service does with what one poll brings (a single demand: a batch of one)."""
        for start in range(0, count, size):
            classifier.classify_many(texts[start : start + size])
            for i in range(start, min(start + size, count)):
                with contextlib.suppress(rules.NotConfident):
                    rules.locate(lists, addresses[i % len(addresses)])

    print(f"date                {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · machine {_machine()}")
    print(f"model load          {loaded:.2f} s ({model.version}, jieba with the lists' words)")
    print(f"classified          {count} real messages (segmentation, both layers, unit)")
    for label, size in (("one at a time", 1), (f"batches of {batch}", batch)):
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        in_batches(size)
        cpu, wall = time.process_time() - cpu_started, time.perf_counter() - wall_started
        print(f"{label:<19} {count / cpu:.0f} demands per CPU-second; {count / wall:.0f}/s wall")
    print(
        "                    (the service classifies what one poll of demand.received brings "
        "as one batch)"
    )
    from services.classification.routing_model import ARTIFACT, ROUTING_THRESHOLD, Router, TypeModel

    if not ARTIFACT.exists():
        print(f"routing             no department-type model at {ARTIFACT} (make model)")
        return
    router = Router(lists, classifier, TypeModel.load(ARTIFACT))
    units = [u.code for u in lists.units if u.level is Level.community]
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    for start in range(0, count, batch):
        chunk = texts[start : start + batch]
        router.route_many(
            chunk,
            [units[i % len(units)] for i in range(start, start + len(chunk))],
            threshold=ROUTING_THRESHOLD,
        )
        for i in range(start, min(start + batch, count)):
            with contextlib.suppress(rules.NotConfident):
                rules.locate(lists, addresses[i % len(addresses)])
    cpu, wall = time.process_time() - cpu_started, time.perf_counter() - wall_started
    print(
        f"routed, batches of {batch} {count / cpu:.0f} demands per CPU-second; {count / wall:.0f}/s"
        " wall (the service's path with the department-type model: both layers, the type model,"
        " matter and level, unit)"
    )
