"""Delays between retries of a background loop whose attempts fail (the database down)."""

from __future__ import annotations


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
