"""Intake's HTTP routers, one per audience, assembled here for the app."""

from __future__ import annotations

from fastapi import APIRouter

from services.intake.api import (
    citizen_acts,
    citizens,
    front_ends,
    lists,
    open311,
    open311_public,
    operators,
)

ROUTERS: list[APIRouter] = [
    front_ends.router,
    citizens.router,
    operators.router,
    citizen_acts.router,
    lists.router,
    open311.router,
    open311_public.router,
]
