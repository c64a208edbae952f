"""Classification's HTTP routers, one per audience, assembled here for the app."""

from __future__ import annotations

from fastapi import APIRouter

from services.classification.api import operators

ROUTERS: list[APIRouter] = [operators.router]
