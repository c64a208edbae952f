"""`liandong model train|export-labelled|eval|cv|bench` and `classify`: the classifier's
category model and offline classification."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from services.cli import routing
from services.cli.common import find_database_url, in_session


def _model_train(_args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from services.classification.category_model import DEFAULT_ARTIFACT, train_artifact

    model, seconds, files, rare = train_artifact(load_lists())
    print(f"trained {model.version} on {', '.join(f.name for f in files)} in {seconds:.1f} s")
    print(f"  classes      {', '.join(model.classes)} -> {DEFAULT_ARTIFACT}")
    for label, count in sorted(rare.items()):
        print(f"  left out     {label}: {count} examples (a category needs 20 to be learnt)")
    return 0


def _model_export(args: argparse.Namespace) -> int:
    from services.classification.examples import export_labelled

    database_url = find_database_url("the classification service's database")
    if database_url is None:
        return 2
    if args.dispatch:
        return _export_dispatch(database_url, args.since)
    exported = in_session(
        database_url, lambda session: export_labelled(session, sys.stdout, since=args.since)
    )
    print(f"{exported} operator decisions exported", file=sys.stderr)
    return 0


def _export_dispatch(database_url: str, since: datetime | None) -> int:
    """Coordinators' reassignments and rulings (routing's tables) as dispatch history."""
    from contracts.lists import load_lists
    from services.routing.history import export_dispatch

    lists = load_lists()
    written, skipped = in_session(
        database_url, lambda session: export_dispatch(session, lists, sys.stdout, since=since)
    )
    print(f"{written} reassignments and rulings exported", file=sys.stderr)
    for reason, count in sorted(skipped.items()):
        print(f"  skipped {count}: {reason}", file=sys.stderr)
    return 0


def _model_eval(args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from services.classification.evaluation import evaluate

    evaluate(load_lists(), threshold=args.threshold)
    return 0


def _model_cv(args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from services.classification.evaluation import cross_validate

    cross_validate(load_lists(), folds=args.folds)
    return 0


def _model_bench(args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from services.classification.category_model import DEFAULT_ARTIFACT
    from services.classification.evaluation import bench

    bench(load_lists(), DEFAULT_ARTIFACT, count=args.count, batch=args.batch)
    return 0


def _classify(args: argparse.Namespace) -> int:
    import csv
    import itertools

    from contracts.lists import load_lists
    from services.classification.category_model import DEFAULT_ARTIFACT, CategoryModel
    from services.classification.classifier import Classifier, Undecided

    classifier = Classifier(load_lists(), CategoryModel.load(DEFAULT_ARTIFACT))
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "category", "matter", "confidence"])
    with args.file.open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        while rows := list(itertools.islice(reader, 1000)):  # a file of any length, in chunks
            texts = [f"{row.get('title') or ''}。{row.get('text') or ''}" for row in rows]
            answers = classifier.classify_many(texts)
            for row, (categories, answer) in zip(rows, answers, strict=True):
                category = categories[0][0] if categories else ""
                if isinstance(answer, Undecided):
                    confidence = f"{categories[0][1]:.3f}" if categories else "0"
                    writer.writerow([row["id"], category, "", confidence])
                else:
                    matter, confidence = answer.matter.code, f"{answer.confidence:.3f}"
                    writer.writerow([row["id"], category, matter, confidence])
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pathlib import Path

    model = sub.add_parser("model", help="the category model of the classifier")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    model_sub.add_parser("train", help="train on every labelled message (make model)").set_defaults(
        func=_model_train
    )
    export = model_sub.add_parser(
        "export-labelled",
        help="operators' triage decisions as training CSV on stdout (uses DATABASE_URL); save as"
        " services/classification/training/operator-<date>.csv for `make model`",
    )
    export.add_argument(
        "--since",
        type=datetime.fromisoformat,
        default=None,
        help="only decisions from this time on (ISO 8601 with offset)",
    )
    export.add_argument(
        "--dispatch",
        action="store_true",
        help="instead: coordinators' reassignments and rulings of disputes (routing's tables) as"
        " dispatch history; save as services/classification/training/dispatch-<date>.csv",
    )
    export.set_defaults(func=_model_export)
    evaluation = model_sub.add_parser("eval", help="train on a split, print held-out figures")
    evaluation.add_argument("--threshold", type=float, default=0.5)
    evaluation.set_defaults(func=_model_eval)
    folds = model_sub.add_parser(
        "cv", help="GroupKFold on the training part only: the figures to choose a change by"
    )
    folds.add_argument("--folds", type=int, default=5)
    folds.set_defaults(func=_model_cv)
    bench = model_sub.add_parser("bench", help="classification speed per core")
    bench.add_argument("--count", type=int, default=3000)
    bench.add_argument("--batch", type=int, default=100, help="demands per batch (one poll)")
    bench.set_defaults(func=_model_bench)
    routing.add_model_commands(model_sub)

    classify = sub.add_parser("classify", help="CSV id,title,text -> id,category,matter,confidence")
    classify.add_argument("file", type=Path)
    classify.set_defaults(func=_classify)
