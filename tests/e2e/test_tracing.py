"""One trace per demand: from POST /v1/demands to the task event on the department's topic,
through every service, each a separate process exporting its spans by OTLP/HTTP."""

from datetime import UTC, datetime

import httpx

from services.runtime.auth import Role, issue_token
from tests.conftest import AUTH_SECRET
from tests.kafka_helpers import eventually, header, read_records

CHANNEL = {
    "Authorization": "Bearer "
    + issue_token(AUTH_SECRET, sub="channel:hotline", role=Role.channel, now=datetime.now(UTC))
}
DEMAND = {
    "channel": "hotline",
    "content": "月河社区楼下烧烤店每晚噪音扰民到凌晨两点，多次反映未解决",
    "location": {"unit_code": "330502001016"},
    "citizen": {"name": "张三", "phone": "13812345678"},
}
SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # OTLP's span kinds


async def test_a_demand_is_one_trace_from_intake_to_the_task_event(services, infra):
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{services.urls['intake']}/v1/demands", json=DEMAND, headers=CHANNEL
        )
    assert response.status_code == 201, response.text
    demand_id = response.json()["demand_id"]

    # The task event as a department reads it: its ce_traceparent names the demand's trace.
    (task,) = await read_records(
        infra.kafka_bootstrap_servers,
        ["tasks.3305.330502"],
        lambda r: (
            header(r, "ce_demandid") == demand_id
            and header(r, "ce_type") == "cn.liandong.task.assigned.v1"
            and header(r, "ce_departmentid") == "330502000000.urban_management"
        ),
        count=1,
    )
    traceparent = header(task, "ce_traceparent")
    assert traceparent is not None
    _, trace_id, parent_span_id, _ = traceparent.split("-")

    def whole_trace():
        spans = services.traces.trace(trace_id)
        ids = {span.span_id for span in spans}
        # Complete once the task's publish span and every span's parent have arrived.
        complete = (
            parent_span_id in ids
            and any(span.service == "liandong-feedback" for span in spans)
            and all(not span.parent_span_id or span.parent_span_id in ids for span in spans)
        )
        return spans if complete else None

    spans = await eventually(whole_trace, timeout_s=30)
    by_id = {span.span_id: span for span in spans}

    # One root: intake's server span of the POST.
    (root,) = [span for span in spans if not span.parent_span_id]
    assert (root.service, root.kind) == ("liandong-intake", SERVER)
    assert root.name == "POST /v1/demands"

    # The task event's publish span leads back to it, hop by hop, through every service.
    chain, span = [], by_id[parent_span_id]
    while span is not None:
        chain.append((span.service, span.kind, span.name))
        span = by_id.get(span.parent_span_id)
    assert chain == [
        ("liandong-routing", PRODUCER, "publish tasks.3305.330502"),
        ("liandong-routing", CONSUMER, "process cn.liandong.demand.classified.v1"),
        ("liandong-classification", PRODUCER, "publish demand.classified"),
        ("liandong-classification", CONSUMER, "process cn.liandong.demand.received.v1"),
        ("liandong-intake", PRODUCER, "publish demand.received"),
        ("liandong-intake", SERVER, "POST /v1/demands"),
    ]
    # Feedback reads the task and status topics: its records join the same trace.
    assert any(span.service == "liandong-feedback" and span.kind == CONSUMER for span in spans)
    # PostgreSQL's spans sit inside: the demand's insert under the request. Statements keep
    # their placeholders; no citizen's data reaches the collector.
    queries = [span for span in spans if span.kind == CLIENT]
    assert any(
        by_id[q.parent_span_id] is root and q.attributes.get("db.system") == "postgresql"
        for q in queries
    )
    recorded = repr([span.attributes for span in spans])
    assert "张三" not in recorded
    assert "13812345678" not in recorded
