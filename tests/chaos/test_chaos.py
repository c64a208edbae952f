"""`make chaos-short` as a test: `pytest -m chaos tests/chaos` runs it and fails with its table.
Marked slow too, so `make test` (-m "not slow") leaves it to its own target."""

import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.chaos
def test_no_accepted_demand_is_lost_or_doubled_under_faults():
    run = subprocess.run(
        [sys.executable, "-m", "tests.chaos.run", "--short"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
