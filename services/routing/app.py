"""Routing entrypoint: `liandong serve routing`."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from contracts import topics
from contracts.lists import Lists, load_lists
from contracts.lists.calendar import TimeLimit
from services.routing.api import routers
from services.routing.auditor import Auditor, EscalationMetrics
from services.routing.handlers import make_batch_handlers, make_handlers
from services.routing.models import tables
from services.routing.service import DuplicatePolicy
from services.routing.settings import RoutingSettings
from services.routing.sweeper import Sweeper
from services.routing.timers import ClockPolicy, routing_sessions
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


def clock_policy(settings: RoutingSettings, lists: Lists) -> ClockPolicy:
    return ClockPolicy(
        calendar=lists.calendar,
        remind_share=settings.remind_share,
        act_within=TimeLimit.parse(settings.coordinator_act_within),
        critical_act_within=TimeLimit.parse(settings.critical_act_within),
    )


def create_runtime(
    settings: RoutingSettings, clock: Clock | None = None, *, sweeper: bool = True
) -> Runtime:
    """Routing's runtime: its sessions keep the task clocks; the sweeper (when enabled) and the
    auditor run beside the relay. `liandong escalator` runs the same with no consumer."""
    lists = load_lists(settings.lists_path)
    runtime = Runtime(service="routing", settings=settings, tables=tables, clock=clock, lists=lists)
    policy = clock_policy(settings, lists)
    runtime.sessions = routing_sessions(
        runtime.engine, outbox=runtime.outbox, policy=policy, clock=runtime.clock
    )
    sweep = None
    if sweeper:
        sweep = Sweeper(
            sessions=runtime.sessions,
            outbox=runtime.outbox,
            policy=policy,
            clock=runtime.clock,
            batch_size=settings.sweep_batch_size,
            interval_s=settings.sweep_interval_ms / 1000,
            concurrency=settings.sweep_concurrency,
        )
        runtime.loop("escalation-sweeper", sweep.run, lambda: sweep.healthy)
    auditor = Auditor(
        sessions=runtime.sessions, clock=runtime.clock, interval_s=settings.audit_interval_s
    )
    runtime.loop("deadline-auditor", auditor.run)
    runtime.reports["deadlines"] = lambda: auditor.report.as_dict()
    runtime.metrics.register(EscalationMetrics(sweep, auditor))
    return runtime


def create_app(settings: RoutingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    runtime = create_runtime(settings, clock, sweeper=settings.sweeper_enabled)
    duplicates = _duplicate_policy(settings)
    runtime.consume(
        [topics.DEMAND_CLASSIFIED, topics.DEMAND_EVALUATED],
        make_handlers(runtime.lists, duplicates=duplicates, max_redos=settings.max_redos),
        make_batch_handlers(runtime.lists, duplicates=duplicates),
    )
    return create_service_app(
        runtime,
        title="Liandong routing",
        description="Departments sign and reply to their tasks; the power list decides the owner.",
        routers=routers,
    )
