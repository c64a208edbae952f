"""`liandong escalator`: routing's sweeper and auditor as their own process, with the same code,
schema and configuration (LIANDONG_ROUTING_*) as routing; it serves only its health endpoints
(on LIANDONG_ESCALATOR_PORT). Several may run beside routing: timers are claimed with
FOR UPDATE SKIP LOCKED and fenced by the task's version, so none fires twice."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import AliasChoices, Field

from services.routing.app import create_runtime
from services.routing.settings import RoutingSettings
from services.runtime.clock import Clock
from services.runtime.http import create_service_app
from services.runtime.settings import Port


class EscalatorSettings(RoutingSettings):
    host: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices("LIANDONG_ESCALATOR_HOST", "liandong_escalator_host"),
        description="bind address of the health endpoints",
    )
    port: Port = Field(
        default=8004,
        validation_alias=AliasChoices("LIANDONG_ESCALATOR_PORT", "liandong_escalator_port"),
        description="health endpoints of the escalator process",
    )


SETTINGS_CLASS = EscalatorSettings


def create_app(settings: EscalatorSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or EscalatorSettings()
    runtime = create_runtime(settings, clock, sweeper=True)
    return create_service_app(
        runtime,
        title="Liandong escalator",
        description="Fires due task timers: reminders (催办) and escalations up the chain (督办).",
    )
