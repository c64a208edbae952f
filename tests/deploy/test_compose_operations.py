"""deploy/compose.yaml as operated: traces (every Liandong process sends OTLP/HTTP to the
collector, which forwards to Jaeger), Kafka reachable from the host, the API keys on a volume,
Grafana and Alertmanager wired to Prometheus."""

from tests.deploy.validation import ROOT, load_yaml

COMPOSE = load_yaml(ROOT / "deploy" / "compose.yaml")
COLLECTOR = load_yaml(ROOT / "deploy" / "otel-collector" / "config.yaml")
LIANDONG = ("init", "intake", "classification", "routing", "feedback", "console", "escalator")


def test_every_process_sends_its_spans_to_the_collector():
    for name in LIANDONG:
        environment = COMPOSE["services"][name]["environment"]
        assert environment["LIANDONG_OTEL_ENDPOINT"] == "http://otel-collector:4318", name
        assert environment["LIANDONG_OTEL_ENABLED"] == "${LIANDONG_OTEL_ENABLED:-true}", name


def test_the_collector_receives_otlp_http_and_forwards_to_jaeger():
    collector = COMPOSE["services"]["otel-collector"]
    mounted = {volume.split(":")[1] for volume in collector["volumes"]}
    assert "/etc/otelcol/config.yaml" in mounted
    assert collector["command"] == ["--config=/etc/otelcol/config.yaml"]
    assert COLLECTOR["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"
    (pipeline,) = COLLECTOR["service"]["pipelines"].values()
    (exporter,) = pipeline["exporters"]
    assert COLLECTOR["exporters"][exporter]["endpoint"] == "jaeger:4317"
    assert set(pipeline["processors"]) <= set(COLLECTOR["processors"])
    assert "jaeger" in COMPOSE["services"]
    assert any(port.endswith(":16686") for port in COMPOSE["services"]["jaeger"]["ports"])


def test_kafka_has_a_listener_the_host_can_subscribe_on():
    kafka = COMPOSE["services"]["kafka"]
    environment = kafka["environment"]
    listeners = dict(
        item.split("://") for item in environment["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    assert listeners["EXTERNAL"] == "${KAFKA_EXTERNAL_HOST:-localhost}:${KAFKA_EXTERNAL_PORT:-9094}"
    assert listeners["PLAINTEXT"] == "kafka:9092"  # the services stay inside the network
    assert "EXTERNAL://:9094" in environment["KAFKA_LISTENERS"].split(",")
    assert "EXTERNAL:" in environment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    # published on the same port it advertises, on the publish address only
    assert kafka["ports"] == [
        "${LIANDONG_PUBLISH_ADDRESS:-127.0.0.1}:${KAFKA_EXTERNAL_PORT:-9094}:9094"
    ]


def test_the_api_keys_file_is_on_a_volume_the_services_read_and_the_tool_writes():
    for name in LIANDONG:
        service = COMPOSE["services"][name]
        assert service["environment"]["LIANDONG_API_KEYS_FILE"] == (
            "/var/lib/liandong/keys/api-keys.json"
        ), name
        assert "api-keys:/var/lib/liandong/keys:ro" in service["volumes"], name
    principals = COMPOSE["services"]["principals"]
    assert principals["volumes"] == ["api-keys:/var/lib/liandong/keys"]  # read-write
    assert principals["profiles"] == ["tools"]  # never started by `up`
    assert "api-keys" in COMPOSE["volumes"]


def test_prometheus_alerts_through_alertmanager_and_grafana_reads_prometheus():
    prometheus = load_yaml(ROOT / "deploy" / "prometheus" / "prometheus.yml")
    (alertmanagers,) = prometheus["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    routes = load_yaml(ROOT / "deploy" / "alertmanager" / "alertmanager.yml")
    receivers = {receiver["name"] for receiver in routes["receivers"]}
    routed = {routes["route"]["receiver"]} | {r["receiver"] for r in routes["route"]["routes"]}
    assert routed <= receivers
    assert {'severity="critical"', 'severity="warning"'} <= {
        m for r in routes["route"]["routes"] for m in r["matchers"]
    }
    datasources = load_yaml(
        ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"
    )
    assert datasources["datasources"][0]["url"] == "http://prometheus:9090"
    grafana = COMPOSE["services"]["grafana"]
    assert "./grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
