"""Intake entrypoint: `liandong serve intake`."""

from __future__ import annotations

from fastapi import FastAPI

from contracts import topics
from contracts.lists import load_lists
from services.intake.api import ROUTERS, open311, open311_public
from services.intake.handlers import HANDLERS
from services.intake.models import tables
from services.intake.redelivery import DemandRedeliverer
from services.intake.settings import IntakeSettings
from services.runtime.clock import Clock
from services.runtime.http import create_service_app
from services.runtime.service import Runtime

SETTINGS_CLASS = IntakeSettings


def create_app(settings: IntakeSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    lists = load_lists(settings.lists_path)
    runtime = Runtime(service="intake", settings=settings, tables=tables, clock=clock, lists=lists)
    runtime.consume([topics.DEMAND_STATUS], HANDLERS)
    redeliverer = DemandRedeliverer(
        sessions=runtime.sessions,
        outbox=runtime.outbox,
        clock=runtime.clock,
        after_s=settings.redeliver_after_s,
        interval_s=settings.redeliver_interval_s,
        batch_size=settings.redeliver_batch_size,
    )
    redeliverer.start(runtime, "demand-redelivery")
    app = create_service_app(
        runtime,
        title="Liandong intake",
        description="Front ends submit public demands here (also as Open311 GeoReport v2 "
        "requests) and citizens follow them.",
        routers=ROUTERS,
    )
    app.add_exception_handler(open311.Open311Error, open311.open311_error)
    open311_public.install_error_format(app)
    return app
