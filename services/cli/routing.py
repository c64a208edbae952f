"""`liandong route`, `model train-routing|eval-routing` and `lists suggest`: the routing
decision offline, its evaluation against real replies, and power-list suggestions from history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _router() -> Any:
    """The routing decision of the classification service: the category model, and the
    department-type model when `make model` built it."""
    from contracts.lists import load_lists
    from services.classification.category_model import DEFAULT_ARTIFACT, CategoryModel
    from services.classification.classifier import Classifier
    from services.classification.routing_model import ARTIFACT, Router, TypeModel

    lists = load_lists()
    classifier = Classifier(lists, CategoryModel.load(DEFAULT_ARTIFACT))
    return Router(lists, classifier, TypeModel.load(ARTIFACT) if ARTIFACT.exists() else None)


def _route(args: argparse.Namespace) -> int:
    from services.classification.route_file import MalformedCsv, route_file

    router = _router()
    try:
        with args.file.open(encoding="utf-8", newline="") as f:
            written = route_file(router, f, sys.stdout, threshold=args.threshold)
    except MalformedCsv as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2
    print(f"{written} demands routed ({router.version})", file=sys.stderr)
    return 0


def _model_train_routing(_args: argparse.Namespace) -> int:
    import time

    from contracts.lists import load_lists
    from services.classification.category_model import (
        DEFAULT_ARTIFACT,
        CategoryModel,
        training_files,
    )
    from services.classification.classifier import Classifier
    from services.classification.routing_model import ARTIFACT
    from services.classification.routing_training import DISPATCH_DATA, train_artifact

    started = time.perf_counter()
    lists = load_lists()
    classifier = Classifier(lists, CategoryModel.load(DEFAULT_ARTIFACT))
    files = training_files()
    dispatch = sorted(files[0].parent.glob(DISPATCH_DATA))
    model, history = train_artifact(
        lists, classifier, operator_files=files[1:], dispatch_files=dispatch
    )
    seconds = time.perf_counter() - started
    print(f"trained {model.version} on {len(history.texts)} dispatch records in {seconds:.1f} s")
    for reason, count in sorted(history.skipped.items()):
        print(f"  skipped      {count}: {reason}")
    print(f"  -> {ARTIFACT}")
    return 0


def _model_eval_routing(args: argparse.Namespace) -> int:
    from contracts.lists import load_lists
    from services.classification.routing_eval import evaluate_routing

    evaluate_routing(
        load_lists(),
        threshold=args.threshold,
        matter_threshold=args.matter_threshold,
        cv_only=args.cv,
    )
    return 0


def _lists_suggest(_args: argparse.Namespace) -> int:
    from services.classification.lists_suggest import Case, render, suggest
    from services.classification.replies import read_outcomes
    from services.classification.routing_eval import EVAL_UNIT, content_of

    # The matter today's decision gives each replied message (keywords and the category model),
    # against the department type that really answered it.
    router = _router()
    keywords_only = type(router)(router.lists, router.classifier, None)
    outcomes = [o for o in read_outcomes() if o.body is not None]
    routes = keywords_only.route_many(
        [content_of(o.title, o.text) for o in outcomes], [EVAL_UNIT] * len(outcomes), threshold=0.0
    )
    cases = [
        Case(route.matter.code, outcome.body.type, f"#{outcome.id} {outcome.title[:30]}")
        for outcome, route in zip(outcomes, routes, strict=True)
        if route.matter is not None and outcome.body is not None
    ]
    found = suggest(router.lists, cases)
    print(f"{len(found)} suggestion(s) for lists {router.lists.version} from {len(cases)} replies")
    print(render(found))
    return 0


def _model_eval_exits(_args: argparse.Namespace) -> int:
    from services.classification.exits_eval import evaluate_exits

    evaluate_exits(_router())
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    route = sub.add_parser(
        "route",
        help="CSV id,title,text[,unit_code] -> id,matter,department_type,department_id,level,"
        "confidence,triage (the pipeline's decision)",
    )
    route.add_argument("file", type=Path)
    route.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="triage below it (default: the service's, 0.4 with the department-type model)",
    )
    route.set_defaults(func=_route)


def add_model_commands(model_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    model_sub.add_parser(
        "train-routing",
        help="the department-type model on the replies and operator decisions (make model)",
    ).set_defaults(func=_model_train_routing)
    routing_eval = model_sub.add_parser(
        "eval-routing",
        help="department type against the bodies that really answered (held-out replies)",
    )
    routing_eval.add_argument(
        "--threshold",
        type=float,
        default=0.4,
        help="the evidence-based decision's triage threshold",
    )
    routing_eval.add_argument(
        "--matter-threshold", type=float, default=0.5, help="today's decision's (the matter's)"
    )
    routing_eval.add_argument(
        "--cv", action="store_true", help="5-fold figures on the training part only (tuning)"
    )
    routing_eval.set_defaults(func=_model_eval_routing)
    model_sub.add_parser(
        "eval-exits",
        help="of the labelled messages sent to triage, the share with no exit available",
    ).set_defaults(func=_model_eval_exits)


def add_lists_commands(lists_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lists_sub.add_parser(
        "suggest",
        help="power-list changes proposed from the replies' history, with counts and examples",
    ).set_defaults(func=_lists_suggest)
