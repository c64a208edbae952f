"""Alembic environment shared by every service; see services/runtime/migrations.py."""

from alembic import context

from services.runtime.migrations import run_environment

run_environment(context.config)
