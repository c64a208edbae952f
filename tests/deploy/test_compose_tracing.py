"""deploy/compose.yaml traces as docs/tracing.md says: every Liandong process sends OTLP/HTTP to
the collector, whose configuration receives it and forwards to Jaeger, whose UI is published."""

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
