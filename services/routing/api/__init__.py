"""Routing's HTTP API, one router module per audience, assembled here for the app."""

from fastapi import APIRouter

from services.routing.api import coordinators, departments, timeline

routers: list[APIRouter] = [departments.router, coordinators.router, timeline.router]
