"""Delays between retries of a background loop whose attempts fail (the database down), and
the loop itself, shared by the sweepers (routing's deadlines, feedback's evaluations, intake's
redelivery)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class Backoff:
    """`first_s` after the first failure, doubled after each further one, at most `cap_s`;
    `succeeded` starts over. A loop retries soon after a short blip (its readiness follows
    the recovery within `cap_s`) without retrying, and logging, several times a second
    through a long outage."""

    def __init__(self, *, first_s: float = 1.0, cap_s: float = 10.0) -> None:
        self.first_s = first_s
        self.cap_s = cap_s
        self._failures = 0

    def failed(self) -> float:
        """The delay before the next attempt, after one more failure."""
        delay: float = min(self.first_s * 2.0 ** min(self._failures, 32), self.cap_s)
        self._failures += 1
        return delay

    def succeeded(self) -> None:
        self._failures = 0


class Reporting(Protocol):
    healthy: bool  # the readiness check reads it


async def repeat(
    stop: asyncio.Event,
    attempt: Callable[[], Awaitable[bool]],
    *,
    interval_s: float,
    owner: Reporting,
    failure: str,
) -> None:
    """`attempt` until `stop`: at once again when it says more is due (a full batch), else after
    `interval_s`. A failure is logged as `failure`, makes `owner` unhealthy and is retried after
    a Backoff, not after the interval; the first attempt that succeeds makes it healthy again."""
    backoff = Backoff()
    while not stop.is_set():
        try:
            more = await attempt()
            owner.healthy = True
            backoff.succeeded()
            wait_s = interval_s
        except Exception:
            owner.healthy = False
            wait_s = backoff.failed()
            log.exception(failure, delay_s=wait_s)
            more = False
        if more:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wait_s)
