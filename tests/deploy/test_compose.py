"""deploy/compose.yaml follows the compose specification and runs what issue 8 asks; a broken
copy fails."""

import re

import pytest

from contracts.kafka_access import compose_acls
from tests.deploy.validation import ROOT, compose_errors, load_yaml

COMPOSE = ROOT / "deploy" / "compose.yaml"
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"
SERVICES = {
    "intake": 8000,
    "classification": 8001,
    "routing": 8002,
    "feedback": 8003,
    "console": 8080,
}


@pytest.fixture(scope="module")
def compose():
    return load_yaml(COMPOSE)


def _env_example():
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_compose_file_follows_the_compose_specification():
    assert compose_errors(COMPOSE) == []


def test_a_broken_copy_fails_the_specification(tmp_path):
    broken = tmp_path / "compose.yaml"
    text = COMPOSE.read_text(encoding="utf-8")
    broken.write_text(text.replace("start_period: 20s", "start_periode: 20s", 1), encoding="utf-8")
    (errors,) = compose_errors(broken)
    assert "start_periode" in errors


def test_kafka_is_apache_kafka_in_kraft_mode(compose):
    kafka = compose["services"]["kafka"]
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", kafka["image"])
    environment = kafka["environment"]
    assert set(environment["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert environment["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert environment["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert not [name for name in compose["services"] if "zookeeper" in name]
    assert re.fullmatch(r"postgres:\d+\.\d+-bookworm", compose["services"]["postgres"]["image"])


def test_init_job_migrates_and_creates_the_topics_once(compose):
    init = compose["services"]["init"]
    assert init["command"] == ["liandong migrate && liandong topics"]
    assert init["restart"] == "no"
    assert init["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "kafka": {"condition": "service_healthy"},
        "kafka-access": {"condition": "service_completed_successfully"},
    }


def test_every_service_is_health_checked_restarted_and_configured_from_env(compose):
    for name, port in SERVICES.items():
        service = compose["services"][name]
        assert service["command"] == ["serve", name]
        assert f"http://127.0.0.1:{port}/health/ready" in " ".join(service["healthcheck"]["test"])
        assert service["restart"] == "unless-stopped"
        assert service["depends_on"]["init"] == {"condition": "service_completed_successfully"}
        assert service["env_file"] == [{"path": ".env", "required": True}]
        assert service["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
    for name in ("postgres", "kafka"):
        assert "healthcheck" in compose["services"][name]
        assert compose["services"][name]["restart"] == "unless-stopped"
    escalator = compose["services"]["escalator"]
    assert escalator["command"] == ["escalator"]
    assert "profiles" not in escalator  # starts with the rest
    assert "http://127.0.0.1:8004/health/ready" in " ".join(escalator["healthcheck"]["test"])


def test_env_example_names_every_variable_the_compose_file_uses():
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE.read_text(encoding="utf-8")))
    assert used <= set(_env_example())


def test_env_example_commits_no_secret():
    values = _env_example()
    assert values["POSTGRES_PASSWORD"] == ""
    assert values["LIANDONG_AUTH_SECRET"] == ""
    assert [v for k, v in values.items() if k.startswith("KAFKA_") and "PASSWORD" in k] == [""] * 7


def test_kafka_takes_sasl_only_with_the_standard_authorizer_and_no_anonymous(compose):
    environment = compose["services"]["kafka"]["environment"]
    protocols = environment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert "PLAINTEXT:PLAINTEXT" not in protocols
    assert {p.split(":")[1] for p in protocols.split(",")} == {"SASL_PLAINTEXT"}
    assert environment["KAFKA_AUTHORIZER_CLASS_NAME"].endswith(".StandardAuthorizer")
    assert environment["KAFKA_SUPER_USERS"] == "User:admin"
    assert environment["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"


def test_each_service_logs_in_to_kafka_as_its_own_user(compose):
    for name in [*(s for s in SERVICES if s != "console"), "escalator"]:
        environment = compose["services"][name]["environment"]
        assert environment["LIANDONG_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert environment["LIANDONG_KAFKA_SASL_USERNAME"] == name
        assert f"KAFKA_PASSWORD_{name.upper()}" in environment["LIANDONG_KAFKA_SASL_PASSWORD"]
    init = compose["services"]["init"]["environment"]
    assert init["LIANDONG_KAFKA_SASL_USERNAME"] == "admin"  # topics: the super user only


def test_the_service_acls_of_compose_are_those_of_the_k8s_users(lists):
    path = ROOT / "deploy" / "kafka" / "service-acls.tsv"
    assert path.read_text(encoding="utf-8") == compose_acls(lists), (
        "deploy/kafka/service-acls.tsv is stale: python -c 'from contracts.kafka_access import "
        "compose_acls; from contracts.lists import load_lists; "
        'print(compose_acls(load_lists()), end="")\' > deploy/kafka/service-acls.tsv'
    )


PROMETHEUS = ROOT / "deploy" / "prometheus"


def test_prometheus_scrapes_every_process_and_loads_the_alerts(compose):
    prometheus = compose["services"]["prometheus"]
    assert "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    assert "./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in prometheus["volumes"]
    assert prometheus["restart"] == "unless-stopped"
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    [job] = config["scrape_configs"]
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    assert targets == {f"{name}:{port}" for name, port in SERVICES.items()} | {"escalator:8004"}
    assert compose["services"]["escalator"]["environment"]["LIANDONG_ESCALATOR_PORT"] == 8004


def _exported_metric_names():
    """The metric names the code defines, as Prometheus exposes them (a counter with _total)."""
    names = set()
    for path in (ROOT / "services").rglob("*.py"):
        names.update(re.findall(r"\"(liandong_[a-z_]+)\"", path.read_text(encoding="utf-8")))
    return names


def _unknown_series(expr, exported):
    """The liandong_* series an alert expression names that no service exports."""
    names = re.findall(r"liandong_[a-z_]+", expr)
    return {n for n in names if re.sub(r"_(total|bucket|count|sum)$", "", n) not in exported}


def test_every_alert_names_series_the_services_export():
    exported = _exported_metric_names()
    rules = [r for group in load_yaml(PROMETHEUS / "alerts.yml")["groups"] for r in group["rules"]]
    assert {r["alert"] for r in rules} >= {
        "LiandongStuckTasks",
        "LiandongSweeperLate",
        "LiandongCriticalDemandWaitsInTriage",
    }
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert "liandong_" in rule["expr"] or 'up{job="liandong"}' in rule["expr"], rule["alert"]
        assert _unknown_series(rule["expr"], exported) == set(), rule["alert"]


def test_a_misspelt_series_in_an_alert_is_caught():
    exported = _exported_metric_names()
    assert _unknown_series("max(liandong_stuck_task) > 0", exported) == {"liandong_stuck_task"}
    assert _unknown_series("rate(liandong_http_requests_total[5m])", exported) == set()
