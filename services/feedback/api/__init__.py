"""Feedback's HTTP routers, one per audience, assembled here for the app."""

from __future__ import annotations

from fastapi import APIRouter

from services.feedback.api import citizens, coordinators, operators

ROUTERS: list[APIRouter] = [citizens.router, operators.router, coordinators.router]
