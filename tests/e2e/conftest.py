"""One running system (every service as its own process) shared by the end-to-end tests."""

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.runtime.api_keys import add_key
from services.runtime.auth import Role
from services.runtime.embedded import free_port
from services.runtime.launcher import ServiceProcesses
from services.runtime.migrations import SERVICES
from tests.otlp_receiver import OtlpReceiver


@dataclass(frozen=True)
class System:
    urls: dict[str, str]
    log_dir: Path
    keys_file: Path
    app_key: str  # an Open311 / X-API-Key channel key
    traces: OtlpReceiver  # every process exports its spans here, as to a collector


@pytest.fixture(scope="package")
def services(infra, tmp_path_factory):
    keys_file = tmp_path_factory.mktemp("keys") / "api-keys.json"
    app_key, _ = add_key(keys_file, sub="app-open311", role=Role.channel)
    traces = OtlpReceiver()
    # These tests file the same complaint many times on purpose; merging duplicates (tested in
    # tests/integration/test_duplicates.py) would join them to one task, so it is off here.
    env = {
        **infra.env(),
        "LIANDONG_ROUTING_DUPLICATE_WINDOW_HOURS": "0",
        "LIANDONG_API_KEYS_FILE": str(keys_file),
        "LIANDONG_ROUTING_SWEEP_INTERVAL_MS": "200",
        # Intake's reconciler looks often; demands are still due only after the default 5 min.
        "LIANDONG_INTAKE_REDELIVER_INTERVAL_S": "0.5",
        # Traced as in production (OTLP/HTTP), to a receiver the tests read.
        "LIANDONG_OTEL_ENABLED": "true",
        "LIANDONG_OTEL_ENDPOINT": traces.url,
        "LIANDONG_OTEL_EXPORT_DELAY_MS": "200",
        # The tests call from 127.0.0.1 by the hundred, as a console or an ingress would; the
        # rate limit per address is tested from other loopback addresses (test_abuse_limits.py).
        "LIANDONG_RATE_LIMIT_EXEMPT": "127.0.0.1",
    }
    processes = ServiceProcesses(env, log_dir=tmp_path_factory.mktemp("logs"))
    with traces, contextlib.ExitStack() as cleanup:
        # A service that fails to start must not leave the others running.
        cleanup.callback(processes.stop)
        for name in (*SERVICES, "escalator"):  # a second sweeper beside routing's own
            processes.start(name, port=free_port())
        processes.wait_ready(timeout_s=90)
        urls = {name: p.url for name, p in processes.running.items()}
        assert processes.log_dir is not None
        yield System(urls, processes.log_dir, keys_file, app_key, traces)


@pytest.fixture
def system(services):
    return services.urls, services.log_dir
