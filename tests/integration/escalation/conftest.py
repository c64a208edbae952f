"""Fixtures of the escalation tests: routing sessions that keep the task clocks, a sweeper, and a
clock the tests move; no timer outlives a test."""

import pytest
from sqlalchemy import delete

from contracts.lists.calendar import TimeLimit
from services.routing.models import deadlines, tables
from services.routing.sweeper import Sweeper
from services.routing.timers import ClockPolicy, routing_sessions
from services.runtime.clock import FixedClock
from services.runtime.outbox import Outbox
from tests.integration.test_returns_and_disputes import LISTS, T0

POLICY = ClockPolicy(
    calendar=LISTS.calendar, remind_share=0.8, act_within=TimeLimit.parse("1 working_hours")
)


@pytest.fixture(autouse=True)
async def no_foreign_timers(engine):
    """The sweeper fires every due timer of the database: each test starts and ends with none,
    so neither another test's timers nor later services' sweepers see them."""
    async with engine.begin() as conn:
        await conn.execute(delete(deadlines))
    yield
    async with engine.begin() as conn:
        await conn.execute(delete(deadlines))


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def outbox():
    return Outbox(tables.outbox, source="/test")


@pytest.fixture
def sessions(engine, outbox, clock):
    return routing_sessions(engine, outbox=outbox, policy=POLICY, clock=clock)


@pytest.fixture
def sweeper(sessions, outbox, clock):
    return Sweeper(sessions=sessions, outbox=outbox, policy=POLICY, clock=clock, batch_size=50)
