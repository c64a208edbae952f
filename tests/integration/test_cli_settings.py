"""`liandong rates recompute` as the docs run it: beside a `make run`, with no variables set,
and with only DATABASE_URL (it needs neither Kafka nor the secret)."""

from __future__ import annotations

import os

import pytest

from services.cli import main
from services.runtime import launcher
from services.runtime.launcher import Infrastructure


@pytest.fixture
def bare_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("LIANDONG_") or name in (
            "DATABASE_URL",
            "KAFKA_BOOTSTRAP_SERVERS",
            "KAFKA_ENABLE_IDEMPOTENCE",
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LIANDONG_STATE_DIR", str(tmp_path / "state"))
    return monkeypatch


def test_rates_recompute_needs_only_the_database(infra, bare_env, capsys):
    bare_env.setenv("DATABASE_URL", infra.database_url)

    assert main(["rates", "recompute"]) == 0

    assert "counters recomputed from the stored facts" in capsys.readouterr().out


def test_rates_recompute_finds_the_database_of_a_running_make_run(
    infra, bare_env, tmp_path, capsys
):
    state_dir = tmp_path / "state"
    launcher.write_run_state(
        state_dir, Infrastructure(infra.database_url, infra.kafka_bootstrap_servers, "external")
    )
    try:
        assert main(["rates", "recompute"]) == 0
    finally:
        launcher.remove_run_state(state_dir)

    assert "counters recomputed from the stored facts" in capsys.readouterr().out
