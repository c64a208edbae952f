"""Classification entrypoint: `liandong serve classification`."""

from __future__ import annotations

from fastapi import FastAPI

from contracts import topics
from contracts.lists import load_lists
from services.classification.handlers import make_handlers
from services.classification.models import tables
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
    runtime = Runtime(
        service="classification", settings=settings, tables=tables, clock=clock, lists=lists
    )
    runtime.consume([topics.DEMAND_RECEIVED], make_handlers(lists))
    return create_service_app(
        runtime,
        title="Liandong classification",
        description="Classifies demands into matter, type, urgency and unit; health and triage.",
    )
