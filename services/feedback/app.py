"""Feedback entrypoint: `liandong serve feedback`."""

from __future__ import annotations

from fastapi import FastAPI

from contracts import topics
from contracts.jurisdiction import Level
from contracts.lists import Lists, load_lists
from contracts.lists.calendar import TimeLimit
from services.feedback.api import ROUTERS
from services.feedback.handlers import make_handlers
from services.feedback.models import tables
from services.feedback.rate_metrics import RateCounters
from services.feedback.service.callbacks import CallbackPolicy, EvaluationSweeper
from services.feedback.settings import FeedbackSettings
from services.runtime.clock import Clock
from services.runtime.http import create_service_app
from services.runtime.service import Runtime

SETTINGS_CLASS = FeedbackSettings


def task_topics(lists: Lists) -> list[str]:
    """Every department task topic of the lists' city."""
    return sorted(
        {topics.tasks_topic(u.code) for u in lists.units if u.level is not Level.province}
    )


def create_app(settings: FeedbackSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or FeedbackSettings()
    lists = load_lists(settings.lists_path)
    runtime = Runtime(
        service="feedback", settings=settings, tables=tables, clock=clock, lists=lists
    )
    policy = CallbackPolicy(
        lists=lists,
        window=TimeLimit.parse(settings.evaluation_window),
        evaluation_url=settings.evaluation_url,
        secret=settings.auth_secret.get_secret_value(),
    )
    runtime.consume(
        [topics.DEMAND_STATUS, topics.DEMAND_CLASSIFIED, *task_topics(lists)],
        make_handlers(policy),
    )
    sweeper = EvaluationSweeper(
        sessions=runtime.sessions,
        outbox=runtime.outbox,
        policy=policy,
        clock=runtime.clock,
        interval_s=settings.sweep_interval_s,
        batch_size=settings.sweep_batch_size,
    )
    sweeper.start(runtime, "evaluation-sweeper")
    counters = RateCounters(
        sessions=runtime.sessions,
        clock=runtime.clock,
        zone=lists.calendar.zone,
        interval_s=settings.metrics_refresh_ms / 1000,
    )
    runtime.loop("rate-counters", counters.run)
    runtime.metrics.register(counters)
    app = create_service_app(
        runtime,
        title="Liandong feedback",
        description="Callbacks and evaluations close the demand; the three rates rank units "
        "and departments.",
        routers=ROUTERS,
    )
    app.state.callback_policy = policy
    app.state.sweeper = sweeper
    return app
