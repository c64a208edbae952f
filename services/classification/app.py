"""Classification entrypoint: `liandong serve classification`."""

from __future__ import annotations

from fastapi import FastAPI

from contracts import topics
from contracts.lists import load_lists
from services.classification.api import ROUTERS
from services.classification.backlog import TriageBacklog
from services.classification.category_model import CategoryModel
from services.classification.classifier import Classifier
from services.classification.handlers import make_batch_handlers, make_handlers
from services.classification.models import tables
from services.classification.routing_model import Router, TypeModel
from services.classification.settings import ClassificationSettings
from services.runtime.clock import Clock
from services.runtime.http import create_service_app
from services.runtime.service import Runtime

SETTINGS_CLASS = ClassificationSettings


def create_app(
    settings: ClassificationSettings | None = None, clock: Clock | None = None
) -> FastAPI:
    settings = settings or ClassificationSettings()
    lists = load_lists(settings.lists_path)
    if not settings.model_path.exists():
        raise SystemExit(f"no category model at {settings.model_path}: run `make model`")
    classifier = Classifier(lists, CategoryModel.load(settings.model_path))
    # The department-type model, when `make model` built it: matter, level and department on
    # evidence (Router.route_many, the decision `liandong route` makes); else keywords and the
    # category model at the matter's handling level.
    type_model = (
        TypeModel.load(settings.routing_model_path)
        if settings.routing_model_path.exists()
        else None
    )
    router = Router(lists, classifier, type_model, threshold=settings.routing_threshold)
    runtime = Runtime(
        service="classification", settings=settings, tables=tables, clock=clock, lists=lists
    )
    thresholds = {
        "matter_threshold": settings.matter_threshold,
        "unit_threshold": settings.unit_threshold,
    }
    runtime.consume(
        [topics.DEMAND_RECEIVED],
        make_handlers(lists, classifier, router, **thresholds),
        make_batch_handlers(lists, classifier, router, **thresholds),
    )
    backlog = TriageBacklog(
        sessions=runtime.sessions,
        clock=runtime.clock,
        interval_s=settings.metrics_refresh_ms / 1000,
    )
    runtime.loop("triage-backlog", backlog.run)
    runtime.metrics.register(backlog)
    return create_service_app(
        runtime,
        title="Liandong classification",
        description="Classifies demands into matter, type, urgency and unit; the triage queue.",
        routers=ROUTERS,
    )
