"""Feedback entrypoint: `liandong serve feedback`."""

from __future__ import annotations

from fastapi import FastAPI

from contracts import topics
from services.feedback.api import router
from services.feedback.handlers import HANDLERS
from services.feedback.models import tables
from services.feedback.settings import FeedbackSettings
from services.runtime.clock import Clock
from services.runtime.http import create_service_app
from services.runtime.service import Runtime

SETTINGS_CLASS = FeedbackSettings


def create_app(settings: FeedbackSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or FeedbackSettings()
    runtime = Runtime(service="feedback", settings=settings, tables=tables, clock=clock)
    runtime.consume([topics.DEMAND_STATUS], HANDLERS)
    return create_service_app(
        runtime,
        title="Liandong feedback",
        description="Citizens evaluate replies; the evaluation closes the demand.",
        routers=[router],
    )
