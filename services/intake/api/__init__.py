"""Intake's HTTP routers, one per audience, assembled here for the app."""

from __future__ import annotations

from fastapi import APIRouter

from services.intake.api import citizens, front_ends, lists, open311, operators

ROUTERS: list[APIRouter] = [
    front_ends.router,
    citizens.router,
    operators.router,
    lists.router,
    open311.router,
]
