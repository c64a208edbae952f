"""The sweepers retry a failed sweep after a backoff from 1 s (not after their interval, and
not several times a second), and report ready again at the first sweep that succeeds."""

import asyncio
import time

from services.feedback.service.callbacks import EvaluationSweeper
from services.routing.sweeper import Sweeper, SweepResult
from services.runtime.backoff import Backoff


def test_the_backoff_doubles_from_one_second_up_to_its_cap_and_starts_over_on_success():
    backoff = Backoff(first_s=1, cap_s=10)
    assert [backoff.failed() for _ in range(7)] == [1, 2, 4, 8, 10, 10, 10]
    backoff.succeeded()
    assert [backoff.failed() for _ in range(2)] == [1, 2]


class _FlakyEvaluationSweeper(EvaluationSweeper):
    def __init__(self, failures: int) -> None:
        super().__init__(
            sessions=None,  # type: ignore[arg-type]
            outbox=None,  # type: ignore[arg-type]
            policy=None,  # type: ignore[arg-type]
            clock=None,  # type: ignore[arg-type]
            interval_s=30,  # the production interval
            batch_size=100,
        )
        self.failures = failures
        self.calls: list[float] = []

    async def sweep_once(self) -> int:
        self.calls.append(time.monotonic())
        if len(self.calls) <= self.failures:
            raise ConnectionRefusedError("database down")
        return 0


async def test_feedback_is_ready_again_a_second_after_the_database_recovers():
    sweeper = _FlakyEvaluationSweeper(failures=1)
    stop = asyncio.Event()
    task = asyncio.create_task(sweeper.run(stop))
    try:
        await asyncio.sleep(0.1)
        assert not sweeper.healthy
        for _ in range(100):  # ready again after the 1 s backoff, not the 30 s interval
            if sweeper.healthy:
                break
            await asyncio.sleep(0.05)
        assert sweeper.healthy
        assert len(sweeper.calls) == 2
        assert 0.9 <= sweeper.calls[1] - sweeper.calls[0] < 5
    finally:
        stop.set()
        await task


class _FailingSweeper(Sweeper):
    def __init__(self) -> None:
        super().__init__(
            sessions=None,  # type: ignore[arg-type]
            outbox=None,  # type: ignore[arg-type]
            policy=None,  # type: ignore[arg-type]
            clock=None,  # type: ignore[arg-type]
            interval_s=0.5,
            concurrency=2,
        )
        self.calls = 0

    async def sweep_once(self) -> SweepResult:
        self.calls += 1
        raise ConnectionRefusedError("database down")


async def test_routing_sweeps_back_off_while_the_database_is_down():
    sweeper = _FailingSweeper()
    stop = asyncio.Event()
    task = asyncio.create_task(sweeper.run(stop))
    await asyncio.sleep(2.5)
    stop.set()
    await task
    # Each of the two loops at 0 s, 1 s (and 3 s): not every 0.5 s interval (5 each).
    assert 2 <= sweeper.calls <= 4
    assert not sweeper.healthy
