"""The Grafana dashboards (deploy/grafana/dashboards) ask only for what the running services
export: every series and label a panel's query names is on some process's GET /metrics, after a
demand went through them. A misspelt series or label fails here, not on an empty panel."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from services.runtime.auth import Role, issue_token
from tests.conftest import AUTH_SECRET
from tests.kafka_helpers import eventually

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
CHANNEL = {
    "Authorization": "Bearer "
    + issue_token(AUTH_SECRET, sub="channel:web", role=Role.channel, now=datetime.now(UTC))
}
DEMAND = {
    "channel": "web",
    "content": "小区门口路灯坏了一个多月，晚上很黑，老人出行不安全",
    "location": {"unit_code": "330502001016"},
    "citizen": {"name": "王五", "phone": "13712345678"},
}
# Labels Prometheus adds to every scraped series (compose's static labels, the PodMonitor's
# relabelling), and the histogram's bucket bound.
TARGET_LABELS = {"service", "job", "instance", "le"}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
SERIES = re.compile(r"\b(liandong_[a-z_]+)(\{[^}]*\})?")
MATCHER_LABEL = re.compile(r"([a-z_]+)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def queries():
    """(dashboard, panel, expression) of every panel target."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                found.append((path.name, panel["title"], target["expr"]))
    return found


def exported(texts):
    """Series name -> the label names the services put on it, from their exposition: a
    counter `x` is queried as `x_total`, a histogram by its `_bucket`, `_count`, `_sum`."""
    series: dict[str, set[str]] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            names = [family.name + s for s in SUFFIXES.get(family.type, ("",))]
            labels = {label for sample in family.samples for label in sample.labels}
            for name in names:
                series.setdefault(name, set()).update(labels)
    return series


def unknown(expr, series):
    """What an expression names that the services do not export: series, or labels (in a
    matcher, or a by/without clause) that none of its series carries."""
    problems = []
    named = SERIES.findall(expr)
    carried = set(TARGET_LABELS)
    for name, matchers in named:
        if name not in series:
            problems.append(f"series {name}")
            continue
        carried |= series[name]
        for label in MATCHER_LABEL.findall(matchers):
            if label not in series[name] | TARGET_LABELS:
                problems.append(f"label {label} of {name}")
    for clause in GROUPING.findall(expr):
        for label in (part.strip() for part in clause.split(",")):
            if label and label not in carried:
                problems.append(f"grouping label {label}")
    return problems


async def test_every_dashboard_query_names_series_the_services_export(services, infra):
    urls = services.urls
    # A record that is no CloudEvent: classification dead-letters it, so the dead-letter
    # counter has a sample whose labels the panels group by.
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait("demand.received", b"not an event", key=b"dashboards")
    finally:
        await producer.stop()
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"{urls['intake']}/v1/demands", json=DEMAND, headers=CHANNEL)
        assert response.status_code == 201, response.text

        async def scraped():
            texts = [(await client.get(f"{url}/metrics")).text for url in urls.values()]
            series = exported(texts)
            # Once the demand is through (routing published its task, feedback measured) and
            # the hostile record was dead-lettered.
            published = series.get("liandong_events_published_total", set())
            dead = series.get("liandong_events_dead_lettered_total", set())
            through = "topic" in published and "liandong_rate_counter" in series
            return texts if through and "reason" in dead else None

        texts = await eventually(scraped, timeout_s=30, interval_s=0.5)
    series = exported(texts)

    found = queries()
    assert len(found) >= 20
    problems = {
        (name, title): unknown(expr, series) for name, title, expr in found if unknown(expr, series)
    }
    assert problems == {}


def test_a_misspelt_series_or_label_is_caught():
    series = {
        "liandong_consumer_lag": {"topic", "partition"},
        "liandong_events_published_total": {"topic"},
    }
    assert unknown("sum by (topic) (liandong_consumer_lag)", series) == []
    assert unknown("sum(liandong_consumer_lags)", series) == ["series liandong_consumer_lags"]
    assert unknown('sum(liandong_consumer_lag{topik="x"})', series) == [
        "label topik of liandong_consumer_lag"
    ]
    assert unknown("sum by (urgency) (liandong_events_published_total)", series) == [
        "grouping label urgency"
    ]


def test_the_dashboards_cover_what_operations_watch():
    expressions = " ".join(expr for _, _, expr in queries())
    for watched in (
        "liandong_events_published_total",  # throughput
        "liandong_http_request_duration_seconds_bucket",  # latency
        "liandong_consumer_lag",
        "liandong_outbox_backlog",
        "liandong_triage_oldest_age_seconds",  # triage age
        "liandong_sweeper_lag_seconds",  # sweeper lateness
        "liandong_escalations_total",  # escalations per level
        'liandong_rate_counter{metric="responded_on_time"}',  # the three rates
        'liandong_rate_counter{metric="resolved"}',
        'liandong_rate_counter{metric="satisfied"}',
    ):
        assert watched in expressions, watched
