"""Training the department-type model from dispatch history: the replies that name their body,
the operators' exported triage decisions (rows the lists cannot place are skipped and counted),
with isotonic calibration on cross-validated predictions. `make model` runs `train_artifact`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contracts.lists import Lists, NoOwner
from services.classification.category_model import MAX_CHARS
from services.classification.classifier import Classifier
from services.classification.routing_model import ARTIFACT, PARAMS, Router, TypeModel


def data_version(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    digest.update(json.dumps(PARAMS, sort_keys=True).encode())
    return f"routing-{digest.hexdigest()[:12]}"


def train_type_model(
    lists: Lists,
    classifier: Classifier,
    texts: Sequence[str],
    labels: Sequence[str],
    groups: Sequence[str],
    *,
    params: dict[str, Any] | None = None,
    version: str = "eval",
    folds: int = 5,
) -> tuple[TypeModel, np.ndarray]:
    """Fit the department-type model on labelled texts; calibrate its top probability on
    out-of-fold predictions (GroupKFold by near-duplicate group). Returns the model and the
    out-of-fold probabilities (rows in `texts` order, columns in the model's `types`)."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.svm import LinearSVC

    params = dict(PARAMS | (params or {}))
    router = Router(lists, classifier, None)
    evidence = router.evidence_many(texts)
    types = sorted(lists.department_types)
    categories = list(classifier.model.classes) if classifier.model else []
    features = TypeModel.features(
        lists, [t[:MAX_CHARS] for t in texts], evidence, types, categories, params
    )
    y = np.array([types.index(label) for label in labels])

    def fit(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        model = LinearSVC(C=params["C"], random_state=params["seed"])
        model.fit(features[rows], y[rows])
        weights = np.zeros((features.shape[1], len(types)))
        intercept = np.full(len(types), -30.0)  # a type never seen in training: never chosen
        coef = model.coef_ if len(model.classes_) > 2 else np.vstack((-model.coef_, model.coef_))
        bias = (
            model.intercept_
            if len(model.classes_) > 2
            else np.concatenate((-model.intercept_, model.intercept_))
        )
        weights[:, model.classes_] = coef.T
        intercept[model.classes_] = bias
        return weights, intercept, model.classes_

    out_of_fold = np.zeros((len(texts), len(types)))
    splitter = GroupKFold(n_splits=folds)
    for train_rows, test_rows in splitter.split(features, y, groups=list(groups)):
        weights, intercept, _ = fit(train_rows)
        scores = (features[test_rows] @ weights + intercept) * params["temperature"]
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        out_of_fold[test_rows] = scores / scores.sum(axis=1, keepdims=True)
    top = out_of_fold.max(axis=1)
    right = (out_of_fold.argmax(axis=1) == y).astype(float)
    isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(top, right)
    calibration = (
        np.asarray(isotonic.X_thresholds_, dtype=np.float64),
        np.asarray(isotonic.y_thresholds_, dtype=np.float64),
    )
    weights, intercept, _ = fit(np.arange(len(texts)))
    model = TypeModel(
        types=types,
        categories=categories,
        weights=weights,
        intercept=intercept,
        calibration=calibration,
        version=version,
        params=params,
    )
    return model, out_of_fold


@dataclass(frozen=True, slots=True)
class History:
    """Dispatch history to learn department types from: texts, their types, their groups, and
    the rows skipped (by reason, counted, never guessed)."""

    texts: list[str]
    types: list[str]
    groups: list[str]
    skipped: dict[str, int]


def operator_history(lists: Lists, files: Sequence[Path]) -> History:
    """The operators' triage decisions exported by `liandong model export-labelled`: the matter
    they chose at the demand's unit gives the department type through the power list. A row
    whose matter or unit the lists do not know, whose matter has no owner there, or whose text
    is empty is skipped and counted."""
    import csv

    texts: list[str] = []
    types: list[str] = []
    groups: list[str] = []
    skipped: dict[str, int] = {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    for path in files:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                text = (row.get("text") or "").strip()
                matter = (row.get("matter_code") or "").strip()
                unit = (row.get("unit_code") or "").strip()
                if not text:
                    skip("empty text")
                elif matter not in lists.matters_by_code:
                    skip("matter unknown to the lists")
                elif unit not in lists.units_by_code:
                    skip("unit unknown to the lists")
                else:
                    try:
                        owner = lists.owner(matter, unit)
                    except NoOwner:  # no department to learn
                        skip("no department owns the matter there")
                        continue
                    texts.append(text)
                    types.append(owner.lead.type)
                    groups.append(f"operator:{row.get('id', len(texts))}")
    return History(texts, types, groups, skipped)


DISPATCH_DATA = "dispatch-*.csv"  # `liandong model export-labelled --dispatch`, in training/


def dispatch_history(lists: Lists, files: Sequence[Path]) -> History:
    """Coordinators' reassignments and rulings exported by `liandong model export-labelled
    --dispatch`: the department they chose gives the type. A row whose department the lists do
    not know (or whose type they no longer have), or whose text is empty, is skipped and
    counted."""
    import csv

    history = History([], [], [], {})

    def skip(reason: str) -> None:
        history.skipped[reason] = history.skipped.get(reason, 0) + 1

    departments = lists.departments_by_id
    for path in files:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                text = (row.get("text") or "").strip()
                department = departments.get((row.get("department_id") or "").strip())
                if not text:
                    skip("empty text")
                elif department is None or department.type not in lists.department_types:
                    skip("department unknown to the lists")
                else:
                    history.texts.append(text)
                    history.types.append(department.type)
                    history.groups.append(f"dispatch:{row.get('id') or len(history.texts)}")
    return history


def reply_history(lists: Lists) -> History:
    """Every reply that names a body of a type of the lists (the whole file: the evaluation
    trains its own model on its training part only)."""
    from services.classification.replies import read_outcomes
    from services.classification.routing_eval import content_of, groups

    outcomes = list(read_outcomes())
    keys = groups(outcomes)
    texts: list[str] = []
    types: list[str] = []
    kept: list[str] = []
    skipped = 0
    for outcome, key in zip(outcomes, keys, strict=True):
        if outcome.body is None or outcome.body.type not in lists.department_types:
            skipped += 1
            continue
        texts.append(content_of(outcome.title, outcome.text))
        types.append(outcome.body.type)
        kept.append(key)
    return History(texts, types, kept, {"reply names no body of the lists": skipped})


def train_artifact(
    lists: Lists,
    classifier: Classifier,
    *,
    operator_files: Sequence[Path],
    dispatch_files: Sequence[Path] = (),
    artifact: Path = ARTIFACT,
) -> tuple[TypeModel, History]:
    """`make model`: the department-type model on every reply, every operator decision and
    every coordinator's reassignment and ruling."""
    from services.classification.replies import REPLIES

    parts = [reply_history(lists), operator_history(lists, operator_files)]
    parts.append(dispatch_history(lists, dispatch_files))
    history = History(
        [text for part in parts for text in part.texts],
        [kind for part in parts for kind in part.types],
        [key for part in parts for key in part.groups],
        {},
    )
    for part in parts:  # two sources may skip rows for one reason (an empty text)
        for reason, count in part.skipped.items():
            history.skipped[reason] = history.skipped.get(reason, 0) + count
    files = [REPLIES, *operator_files, *dispatch_files]
    version = data_version(*(path.read_bytes() for path in files))
    model, _ = train_type_model(
        lists, classifier, history.texts, history.types, history.groups, version=version
    )
    model.save(artifact)
    return model, history
