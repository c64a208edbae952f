"""The statistical layer: a first-level category model trained on real citizen messages.

Chinese text is segmented with jieba (its dictionary extended with the matter keywords and the
unit names of the lists), then TF-IDF over words (1-2 grams) and characters (1-3 grams) feeds
a linear SVM whose scores are calibrated into probabilities (Platt scaling, 5-fold).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jieba
import joblib
import numpy as np
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GroupShuffleSplit
from sklearn.svm import LinearSVC

from contracts.lists import Lists

TRAINING_DATA = Path(__file__).parent / "training" / "messages_labelled.csv"
DEFAULT_ARTIFACT = Path(__file__).parent / "artifacts" / "category-model.joblib"
MAX_CHARS = 2000  # longer texts are cut here (and flagged) before segmentation
PARAMS = {
    "word_ngrams": (1, 2),
    "char_ngrams": (1, 3),
    "C": 0.5,
    "calibration_folds": 5,
    "calibration_ensemble": False,
    "seed": 7,
}

jieba.setLogLevel(logging.WARNING)
_ANON = re.compile(r"[A-Z]\d*[市区县]|[A-Z]\d+|\d+|\s+")


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str
    group: str  # near-duplicates share a group, so a split never puts them on both sides


def read_examples(path: Path = TRAINING_DATA) -> list[Example]:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [
        Example(
            text=f"{row['title']}。{row['text']}",
            label=row["label"],
            # The same complaint filed for two districts differs only in anonymised place names
            # and numbers: the title without them identifies the group.
            group=_ANON.sub("", row["title"])[:30],
        )
        for row in rows
    ]


def split(
    examples: Sequence[Example], *, test_size: float = 0.2, seed: int = 7
) -> tuple[list[int], list[int]]:
    """Held-out split by near-duplicate group: no group is on both sides."""
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(splitter.split(examples, groups=[e.group for e in examples]))
    return list(train), list(test)


def data_version(path: Path = TRAINING_DATA) -> str:
    digest = hashlib.sha256(path.read_bytes())
    digest.update(json.dumps(PARAMS, sort_keys=True).encode())
    return f"category-{digest.hexdigest()[:12]}"


class Segmenter:
    """jieba with the lists' own words, so 违章搭建 or 织里镇 stay one token."""

    def __init__(self, words: Iterable[str]) -> None:
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        for word in words:
            self._tokenizer.add_word(word, freq=2000)

    def __call__(self, text: str) -> str:
        return " ".join(w for w in self._tokenizer.lcut(text[:MAX_CHARS]) if w.strip())


def lists_words(lists: Lists) -> list[str]:
    words = {k for m in lists.matters for k in m.keywords}
    words |= {u.name for u in lists.units}
    return sorted(words)


class CategoryModel:
    def __init__(
        self, *, version: str, words: TfidfVectorizer, chars: TfidfVectorizer, classifier: Any
    ) -> None:
        self.version = version
        self.words = words
        self.chars = chars
        self.classifier = classifier
        self.classes: list[str] = [str(c) for c in classifier.classes_]
        # The calibrated SVM as plain arrays: one sparse product and a sigmoid per class, without
        # scikit-learn's per-call validation (a quarter of the time of one classification).
        calibrated = classifier.calibrated_classifiers_[0]
        self._weights = calibrated.estimator.coef_.T.astype(np.float64)
        self._intercept = calibrated.estimator.intercept_
        self._a = np.array([c.a_ for c in calibrated.calibrators])
        self._b = np.array([c.b_ for c in calibrated.calibrators])

    @classmethod
    def train(
        cls, texts: Sequence[str], labels: Sequence[str], segmenter: Segmenter, *, version: str
    ) -> CategoryModel:
        words = TfidfVectorizer(
            token_pattern=r"\S+",  # noqa: S106 - a regex, not a password
            lowercase=False,
            ngram_range=PARAMS["word_ngrams"],
            min_df=2,
            sublinear_tf=True,
        )
        chars = TfidfVectorizer(
            analyzer="char",
            ngram_range=PARAMS["char_ngrams"],
            min_df=2,
            sublinear_tf=True,
            max_features=300_000,
        )
        clipped = [t[:MAX_CHARS] for t in texts]
        features = sparse.hstack(
            [words.fit_transform([segmenter(t) for t in clipped]), chars.fit_transform(clipped)]
        ).tocsr()
        # ensemble=False: one SVM on all data, calibrated on cross-validated scores (a small
        # artifact: one weight matrix instead of one per fold).
        classifier = CalibratedClassifierCV(
            LinearSVC(C=PARAMS["C"], random_state=PARAMS["seed"]),
            cv=PARAMS["calibration_folds"],
            ensemble=PARAMS["calibration_ensemble"],
        )
        classifier.fit(features, list(labels))
        # The pruned vocabulary is only kept for introspection; it is most of the artifact's size.
        words.stop_words_ = None
        chars.stop_words_ = None
        return cls(version=version, words=words, chars=chars, classifier=classifier)

    def probabilities(self, texts: Sequence[str], segmenter: Segmenter) -> np.ndarray:
        clipped = [t[:MAX_CHARS] for t in texts]
        features = sparse.hstack(
            [self.words.transform([segmenter(t) for t in clipped]), self.chars.transform(clipped)]
        ).tocsr()
        decision = features @ self._weights + self._intercept
        probabilities: np.ndarray = 1.0 / (1.0 + np.exp(self._a * decision + self._b))
        total = probabilities.sum(axis=1, keepdims=True)
        uniform = np.full_like(probabilities, 1.0 / len(self.classes))
        return np.where(total == 0, uniform, probabilities / np.where(total == 0, 1, total))

    def probabilities_reference(self, texts: Sequence[str], segmenter: Segmenter) -> np.ndarray:
        """scikit-learn's own predict_proba, for the test that the fast path agrees with it."""
        clipped = [t[:MAX_CHARS] for t in texts]
        features = sparse.hstack(
            [self.words.transform([segmenter(t) for t in clipped]), self.chars.transform(clipped)]
        ).tocsr()
        reference: np.ndarray = self.classifier.predict_proba(features)
        return reference

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "version": self.version,
            "words": self.words,
            "chars": self.chars,
            "classifier": self.classifier,
        }
        joblib.dump(payload, path, compress=3)

    @classmethod
    def load(cls, path: Path) -> CategoryModel:
        payload = joblib.load(path)  # our own artifact, built by `make model`
        return cls(**payload)


def train_artifact(
    lists: Lists, *, data: Path = TRAINING_DATA, artifact: Path = DEFAULT_ARTIFACT
) -> tuple[CategoryModel, float]:
    """Train on every labelled message and write the artifact; returns it and the seconds taken."""
    started = time.perf_counter()
    examples = read_examples(data)
    model = CategoryModel.train(
        [e.text for e in examples],
        [e.label for e in examples],
        Segmenter(lists_words(lists)),
        version=data_version(data),
    )
    model.save(artifact)
    return model, time.perf_counter() - started
