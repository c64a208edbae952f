"""Classification's HTTP routers, one per audience, assembled here for the app."""

from __future__ import annotations

from fastapi import APIRouter

from services.classification.api import desk, knowledge, operators

ROUTERS: list[APIRouter] = [operators.router, desk.router, knowledge.router]
