"""A bad or missing setting stops `liandong` with one line per error naming the environment
variable and the reason, exit code 2, no traceback, and never the value (secrets)."""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest
import structlog
import uvicorn

from services.cli import main
from services.runtime import launcher
from services.runtime.launcher import Infrastructure, LauncherSettings

SECRET = "hmac-" + "Q7vLx2pZ" * 5  # 45 characters; no fragment of it may be printed
DB_PASSWORD = "pw-Zr8sT4kq"
INFRA_VARIABLES = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "LIANDONG_AUTH_SECRET")


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A complete, valid environment (nothing runs: the server is never started)."""
    for name in list(os.environ):
        if name.startswith("LIANDONG_") or name in (*INFRA_VARIABLES, "KAFKA_ENABLE_IDEMPOTENCE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LIANDONG_STATE_DIR", str(tmp_path / "state"))  # no `make run` there
    monkeypatch.setenv("DATABASE_URL", f"postgresql://liandong:{DB_PASSWORD}@127.0.0.1:1/x")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("LIANDONG_AUTH_SECRET", SECRET)

    def started(_self):
        raise AssertionError("the service started with an invalid setting")

    monkeypatch.setattr(uvicorn.Server, "run", started)
    # `serve` configures logging before it starts the server: leave the process's as it was.
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    yield monkeypatch
    structlog.reset_defaults()


def _secret_fragments():
    """Every 8-character window of the secret and the database password."""
    for value in (SECRET, DB_PASSWORD):
        yield from (value[i : i + 8] for i in range(len(value) - 7))


def _assert_no_values(output: str, *values: str) -> None:
    assert "Traceback" not in output
    assert "input_value" not in output
    # (a value of one or two characters, "0" or "-5", would match the reason's own words)
    for fragment in (*_secret_fragments(), *(v for v in values if len(v) > 2)):
        assert fragment not in output


BAD_VALUES = [
    ("routing", "LIANDONG_ROUTING_RETURN_WINDOW", "2 fortnights"),
    ("routing", "LIANDONG_ROUTING_CONSUMER_MAX_ATTEMPTS", "abc"),
    ("intake", "LIANDONG_INTAKE_MAX_BODY_BYTES", "-5"),
    ("intake", "LIANDONG_INTAKE_MAX_BODY_BYTES", "0"),
    ("feedback", "LIANDONG_LOG_LEVEL", "LOUD"),
    ("classification", "LIANDONG_CLASSIFICATION_PORT", "70000"),
    ("classification", "LIANDONG_CLASSIFICATION_PORT", "0"),
    ("escalator", "LIANDONG_ESCALATOR_PORT", "-1"),
    ("feedback", "LIANDONG_FEEDBACK_SWEEP_INTERVAL_S", "0"),
    ("routing", "LIANDONG_ROUTING_CRITICAL_ACT_WITHIN", "3 working_days"),
    ("intake", "DATABASE_URL", f"mysql://root:{DB_PASSWORD}@db/x"),
    ("intake", "LIANDONG_AUTH_SECRET", SECRET[:20]),
    ("run", "LIANDONG_ROUTING_PORT", "abc"),  # the launcher refuses it before starting anything
    ("run", "LIANDONG_TOPIC_PARTITIONS", "0"),
]


@pytest.mark.parametrize(("service", "variable", "value"), BAD_VALUES)
def test_a_bad_setting_names_its_variable_and_stops_with_2(env, capsys, service, variable, value):
    env.setenv(variable, value)
    argv = [service] if service in ("escalator", "run") else ["serve", service]

    assert main(argv) == 2

    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.startswith(f"{variable}: ")]
    assert len(lines) == 1, err
    _assert_no_values(out + err, value)


def test_a_good_lowercase_log_level_is_accepted(env):
    env.setenv("LIANDONG_LOG_LEVEL", "debug")
    with pytest.raises(AssertionError, match="started"):  # got as far as the server
        main(["serve", "intake"])


def test_a_missing_variable_is_named_and_the_secret_beside_it_is_not_printed(env, capsys):
    env.delenv("KAFKA_BOOTSTRAP_SERVERS")

    assert main(["serve", "intake"]) == 2

    out, err = capsys.readouterr()
    assert "KAFKA_BOOTSTRAP_SERVERS: is not set" in err
    _assert_no_values(out + err)


def test_rates_recompute_without_a_database_names_it_and_prints_no_secret(env, capsys):
    env.delenv("DATABASE_URL")
    env.delenv("KAFKA_BOOTSTRAP_SERVERS")  # not needed by it

    assert main(["rates", "recompute"]) == 2

    out, err = capsys.readouterr()
    assert err.startswith("DATABASE_URL: is not set")
    assert "KAFKA" not in err
    assert "LIANDONG_AUTH_SECRET" not in err
    _assert_no_values(out + err)


def test_notifications_log_without_a_broker_fails(env, capsys):
    env.delenv("KAFKA_BOOTSTRAP_SERVERS")

    assert main(["notifications", "log"]) == 2

    assert capsys.readouterr().err.startswith("KAFKA_BOOTSTRAP_SERVERS: is not set")


def test_the_launcher_records_where_its_infrastructure_is_for_other_shells(env, tmp_path):
    state_dir = tmp_path / "state"
    infra = Infrastructure(
        "postgresql://postgres@127.0.0.1:5999/liandong", "127.0.0.1:9999", "tansu"
    )
    path = launcher.write_run_state(state_dir, infra)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a DATABASE_URL may hold a password
    env.delenv("DATABASE_URL")
    env.delenv("KAFKA_BOOTSTRAP_SERVERS")
    found = LauncherSettings().with_running_system()
    assert found.database_url == infra.database_url
    assert found.kafka_bootstrap_servers == infra.kafka_bootstrap_servers

    env.setenv("DATABASE_URL", "postgresql://elsewhere/x")  # a set variable wins
    assert LauncherSettings().with_running_system().database_url == "postgresql://elsewhere/x"

    launcher.remove_run_state(state_dir)
    assert launcher.read_run_state(state_dir) is None


def test_a_killed_launchers_state_file_is_not_believed(tmp_path):
    (tmp_path / "run.json").write_text(
        json.dumps({"pid": 2**22 + 12345, "database_url": "postgresql://gone/x"})
    )
    assert launcher.read_run_state(tmp_path) is None
