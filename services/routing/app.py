"""Routing entrypoint: `liandong serve routing`."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from contracts import topics
from contracts.lists import load_lists
from services.routing import coordination
from services.routing.api import router
from services.routing.handlers import make_handlers
from services.routing.models import tables
from services.routing.service import DuplicatePolicy
from services.routing.settings import RoutingSettings
from services.runtime.clock import Clock
from services.runtime.http import create_service_app
from services.runtime.service import Runtime

SETTINGS_CLASS = RoutingSettings


def _duplicate_policy(settings: RoutingSettings) -> DuplicatePolicy | None:
    if settings.duplicate_window_hours <= 0:
        return None
    return DuplicatePolicy(
        window=timedelta(hours=settings.duplicate_window_hours),
        similarity=settings.duplicate_similarity,
    )


def create_app(settings: RoutingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    lists = load_lists(settings.lists_path)
    runtime = Runtime(service="routing", settings=settings, tables=tables, clock=clock, lists=lists)
    runtime.consume(
        [topics.DEMAND_CLASSIFIED, topics.DEMAND_EVALUATED],
        make_handlers(lists, duplicates=_duplicate_policy(settings)),
    )
    return create_service_app(
        runtime,
        title="Liandong routing",
        description="Departments sign and reply to their tasks; the power list decides the owner.",
        routers=[router, coordination.router],
    )
