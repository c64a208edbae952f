"""GET /metrics of every running service after a demand went through: requests by route
template, events consumed and published, consumer lag, outbox backlog and relay health; and no
demand id or tracking token in any label."""

from datetime import UTC, datetime

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.runtime.auth import Role, issue_token
from tests.conftest import AUTH_SECRET
from tests.kafka_helpers import eventually

CHANNEL = {
    "Authorization": "Bearer "
    + issue_token(AUTH_SECRET, sub="channel:web", role=Role.channel, now=datetime.now(UTC))
}
DEMAND = {
    "channel": "web",
    "content": "小区门口路灯坏了一个多月，晚上很黑，老人出行不安全",
    "location": {"unit_code": "330502001016"},
    "citizen": {"name": "李四", "phone": "13912345678"},
}
RECEIVED = "cn.liandong.demand.received.v1"
CLASSIFIED = "cn.liandong.demand.classified.v1"
STATUS_CHANGED = "cn.liandong.demand.status-changed.v1"


class Scrape:
    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [
            (sample.name, sample.labels, sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples of `name` whose labels include `labels`."""
        return sum(
            value
            for sample, have, value in self.samples
            if sample == name and labels.items() <= have.items()
        )

    def labelled(self, name: str) -> list[dict[str, str]]:
        return [have for sample, have, _ in self.samples if sample == name]


async def _scrape(client: httpx.AsyncClient, url: str) -> Scrape:
    response = await client.get(f"{url}/metrics")
    assert response.status_code == 200
    return Scrape(response.text)


async def test_every_service_counts_its_requests_and_events(services):
    urls = services.urls
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"{urls['intake']}/v1/demands", json=DEMAND, headers=CHANNEL)
        assert response.status_code == 201, response.text
        demand_id, token = response.json()["demand_id"], response.json()["tracking_token"]
        track = f"{urls['intake']}/v1/demands/{demand_id}"

        async def assigned():
            view = await client.get(track, params={"token": token})
            return view.status_code == 200 and view.json()["status"] == "assigned"

        await eventually(assigned, timeout_s=30)
        assert (await client.get(track, params={"token": "not-the-right-token"})).status_code == 404

        intake = await _scrape(client, urls["intake"])
        requests = "liandong_http_requests_total"
        assert intake.total(requests, method="POST", route="/v1/demands", status="2xx") >= 1
        assert intake.total(requests, route="/v1/demands/{demand_id}", status="2xx") >= 1
        assert intake.total(requests, route="/v1/demands/{demand_id}", status="4xx") >= 1
        assert (
            intake.total(
                "liandong_http_request_duration_seconds_count",
                method="POST",
                route="/v1/demands",
            )
            >= 1
        )
        assert intake.total("liandong_events_published_total", topic="demand.received") >= 1

        async def settled():
            """Every service has consumed what it should, measured its lag (zero once the
            demand is through) and its outbox backlog."""
            scrapes = {name: await _scrape(client, url) for name, url in urls.items()}
            consumed = "liandong_events_consumed_total"
            wanted = [
                ("classification", "demand.received", RECEIVED),
                ("routing", "demand.classified", CLASSIFIED),
                ("intake", "demand.status", STATUS_CHANGED),
                ("feedback", "demand.status", STATUS_CHANGED),
            ]
            for service, topic, event_type in wanted:
                scrape = scrapes[service]
                if scrape.total(consumed, topic=topic, type=event_type, outcome="ok") < 1:
                    return None
                lags = [s for s in scrape.labelled("liandong_consumer_lag") if s["topic"] == topic]
                if not lags or scrape.total("liandong_consumer_lag", topic=topic) != 0:
                    return None
                if not scrape.labelled("liandong_outbox_backlog"):
                    return None
            return scrapes

        scrapes = await eventually(settled, timeout_s=30, interval_s=0.5)

    classification, routing = scrapes["classification"], scrapes["routing"]
    published = "liandong_events_published_total"
    assert classification.total(published, topic="demand.classified") >= 1
    # a task goes to its department's own topic, one of the district's `tasks.3305.330502.*`
    district_tasks = [
        value
        for sample, have, value in routing.samples
        if sample == published and have.get("topic", "").startswith("tasks.3305.330502.")
    ]
    assert sum(district_tasks) >= 1
    assert routing.total(published, topic="demand.status") >= 1
    for name, scrape in scrapes.items():
        assert scrape.total("liandong_outbox_relay_up") == 1, name
        assert scrape.total("liandong_outbox_relay_last_success_timestamp_seconds") > 0, name
        assert scrape.labelled("liandong_outbox_oldest_age_seconds"), name
        # The launcher polled readiness (503s until the service was ready) and this test
        # scraped /metrics: neither is counted as a request.
        assert not [
            r
            for r in scrape.labelled("liandong_http_requests_total")
            if r["route"].startswith("/health") or r["route"] == "/metrics"
        ], name
        for consumer in scrape.labelled("liandong_consumer_up"):
            assert scrape.total("liandong_consumer_up", **consumer) == 1, (name, consumer)
        # Ids, tokens and citizens' details never become label values.
        for secret in (demand_id, token, "13912345678"):
            assert secret not in scrape.text, (name, secret)
    # Routing's own collector (timers, audit) is served beside the runtime's.
    assert routing.labelled("liandong_stuck_tasks")
    # Classification's: the triage queue's oldest wait, every urgency always exported.
    waits = classification.labelled("liandong_triage_oldest_age_seconds")
    assert sorted(w["urgency"] for w in waits) == ["critical", "normal", "urgent"]
    # Each partition of a consumed topic is measured once.
    partitions = [(s["topic"], s["partition"]) for s in routing.labelled("liandong_consumer_lag")]
    assert len(partitions) == len(set(partitions))
    assert {topic for topic, _ in partitions} == {"demand.classified", "demand.evaluated"}
