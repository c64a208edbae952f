"""Fixtures of the routing tests that call the service layer on the real database."""

import pytest

from services.routing.models import tables
from services.runtime.db import create_session_factory
from services.runtime.outbox import Outbox


@pytest.fixture
def sessions(engine):
    return create_session_factory(engine)


@pytest.fixture
def outbox():
    """Routing's outbox: what the relay would publish, left in the table for the test to read."""
    return Outbox(tables.outbox, source="/test")
