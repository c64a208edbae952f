"""Feedback on the real broker and database, with a clock the test moves: a month of synthetic
traffic (task events on the department topics, replies on demand.status) goes through the
broker into the feedback consumer; evaluations come through its HTTP API, by the citizen's
link and by a hotline operator; the sweep closes an unanswered callback. Every rate of two
departments is checked against figures computed by hand, and against a recompute from the
stored facts."""

import asyncio
import io
import json
import uuid

import httpx
import pytest
from sqlalchemy import select

from contracts import topics
from contracts.events import (
    CallbackRequested,
    DemandStatus,
    DemandStatusChanged,
    TaskRole,
)
from services.feedback.app import create_app
from services.feedback.models import Callback, DemandFact
from services.feedback.notifications import log_notifications
from services.feedback.repository import counters
from services.feedback.settings import FeedbackSettings
from services.runtime.auth import Role, tracking_token
from services.runtime.db import create_session_factory
from tests.conftest import AUTH_SECRET
from tests.integration.feedback_traffic import (
    HOT_UNIT,
    HUZHOU,
    NAMES,
    SUFFIX,
    A,
    B,
    SettableClock,
    Task,
    at,
    bearer,
    callback_state,
    classified,
    classify,
    department_rows,
    evaluate,
    publish,
)
from tests.kafka_helpers import eventually, read_records


@pytest.fixture(scope="module")
async def feedback(infra):
    settings = FeedbackSettings.model_validate(
        {
            "DATABASE_URL": infra.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
            "KAFKA_ENABLE_IDEMPOTENCE": str(infra.idempotence).lower(),
            "LIANDONG_AUTH_SECRET": AUTH_SECRET,
            "consumer_session_timeout_ms": 6000,
            "sweep_interval_s": 3600,  # the test sweeps by hand, at the times it chooses
            "evaluation_url": "https://12345.example/evaluate?demand={demand_id}&token={token}",
        }
    )
    clock = SettableClock(at(11, 1, 0))
    app = create_app(settings, clock)
    runtime = app.state.runtime
    await runtime.start()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://feedback"
    ) as client:
        yield app, client, clock
    await runtime.stop()


# A month of traffic for two departments. Times are Huzhou time.
A1 = Task(A, at(11, 2))  # signed on time, replied on time, resolved and satisfied
A2 = Task(A, at(11, 3))  # signed late, replied late, dissatisfied; redone in time, rated again
A3 = Task(A, at(11, 4))  # returned within the sign limit
A4 = Task(A, at(11, 5))  # never signed
A5 = Task(A, at(11, 6), role=TaskRole.co_handler)  # withdrawn unsigned before its limit
A6 = Task(A, at(11, 20))  # replied on a Saturday; never evaluated
A7 = Task(A, at(10, 31, 23, 30))  # assigned in October: not November's
B1 = Task(B, at(11, 10))
B2 = Task(B, at(11, 11))
B3 = Task(B, at(11, 25))  # signed late; evaluated on 1 December: December's evaluation


def first_phase():
    return [
        A1.assigned_event(), A1.signed(at(11, 2, 10, 30)), *A1.replied(at(11, 5)),
        A2.assigned_event(), A2.signed(at(11, 3, 13)), *A2.replied(at(11, 12)),
        A3.assigned_event(), A3.returned(at(11, 4, 10)),
        A4.assigned_event(),
        A5.assigned_event(), A5.withdrawn(at(11, 6, 9, 30)),
        A6.assigned_event(), A6.signed(at(11, 20, 10)), *A6.replied(at(11, 21, 10)),
        A7.assigned_event(), A7.signed(at(11, 1, 0, 10)),
        B1.assigned_event(), B1.signed(at(11, 10, 10)), *B1.replied(at(11, 12)),
        B2.assigned_event(), B2.signed(at(11, 11, 9, 5)), *B2.replied(at(11, 14)),
        B3.assigned_event(), B3.signed(at(11, 25, 15)), *B3.replied(at(11, 26, 15)),
    ]  # fmt: skip


EXPECTED_NOVEMBER = {
    # assigned: A1 A2 A3 A4 A6 (A5 withdrawn in time, A7 October); on time: A1, A3 (a return), A6
    A: {"assigned": 5, "responded_on_time": 3, "returned": 1,
        # replies: A1, A2, A2's redo (after an extension), A6; on time all but A2's first
        "replied": 4, "replied_on_time": 3,
        # evaluations: A1 satisfied, A2 dissatisfied, A2 again basically satisfied; A2's redo
        "evaluated": 3, "resolved": 2, "satisfied": 2, "redo": 1, "not_evaluated": 1,
        "response_rate": 0.6, "return_rate": 0.2, "on_time_reply_rate": 0.75,
        "resolution_rate": 0.6667, "satisfaction_rate": 0.6667, "redo_rate": 0.3333,
        "praised": 0, "withdrawn": 0},  # counted apart from every rate (front desk)
    B: {"assigned": 3, "responded_on_time": 2, "returned": 0,
        "replied": 3, "replied_on_time": 3,
        "evaluated": 2, "resolved": 2, "satisfied": 2, "redo": 0, "not_evaluated": 0,
        "response_rate": 0.6667, "return_rate": 0.0, "on_time_reply_rate": 1.0,
        "resolution_rate": 1.0, "satisfaction_rate": 1.0, "redo_rate": 0.0,
        "praised": 0, "withdrawn": 0},
}  # fmt: skip


async def test_a_month_of_traffic_gives_the_hand_computed_rates(feedback, infra):
    app, client, clock = feedback
    await classify(
        infra,
        app,
        [classified(t.demand_id, t.assigned) for t in (A1, A2, A3, A4, A6, A7, B1, B2, B3)],
    )
    await publish(infra, first_phase())

    async def replies_arrived():
        states = [await callback_state(app, t.demand_id) for t in (A1, A2, A6, B1, B2, B3)]
        return all(s == ("awaiting_evaluation", 1) for s in states)

    await eventually(replies_arrived, timeout_s=60)

    # Evaluations, at their own times: by the citizen's link and by a hotline operator.
    for task, when, resolved, satisfaction, operator in [
        (A1, at(11, 6), True, "satisfied", False),
        (A2, at(11, 13), False, "dissatisfied", False),
        (B1, at(11, 13, 10), True, "satisfied", False),
        (B2, at(11, 15), True, "basically_satisfied", True),
    ]:
        response = await evaluate(
            client, clock, task, when, resolved=resolved, satisfaction=satisfaction,
            operator=operator,
        )  # fmt: skip
        assert response.status_code == 201, response.text

    # The redo (routing's answer to the dissatisfied evaluation) gives A2 a new reply deadline,
    # an approved extension moves it, the lead replies again, the citizen is asked again.
    await publish(
        infra,
        [A2.redo(at(11, 13, 9, 1), at(11, 15)), A2.extended(at(11, 14), at(11, 20)),
         *A2.replied(at(11, 16))],
    )  # fmt: skip
    await eventually(
        lambda: _is(callback_state(app, A2.demand_id), ("awaiting_evaluation", 2)), timeout_s=30
    )
    response = await evaluate(
        client, clock, A2, at(11, 17), resolved=True, satisfaction="basically_satisfied",
        operator=True,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["evaluated_by"] == "operator:operator-1"

    # A6 replied on Saturday 21 November: the window opens on Monday 08:30 and its three
    # working days end on Thursday 26th, 08:30.
    clock.set(at(11, 26, 8, 29))
    await app.state.sweeper.sweep_once()
    assert await callback_state(app, A6.demand_id) == ("awaiting_evaluation", 1)
    clock.set(at(11, 28))
    await app.state.sweeper.sweep_once()
    assert await callback_state(app, A6.demand_id) == ("not_evaluated", 1)
    async with app.state.runtime.sessions() as session:
        fact = await session.get(DemandFact, A6.demand_id)
    assert fact.citizen_phone is None  # the callback is over: its phone goes
    metrics = (await client.get("/metrics")).text
    [closed] = [
        line
        for line in metrics.splitlines()
        if line.startswith("liandong_callbacks_not_evaluated_total ")
    ]
    assert float(closed.split()[1]) >= 1
    late = await evaluate(client, clock, A6, at(11, 28, 1), resolved=True, satisfaction="satisfied")
    assert late.status_code == 409
    assert "not evaluated" in late.json()["detail"]

    # B3 is rated in December: it counts there.
    response = await evaluate(
        client, clock, B3, at(12, 1, 8), resolved=True, satisfaction="satisfied"
    )
    assert response.status_code == 201, response.text

    expected_counts = {d: {k: v for k, v in e.items() if not k.endswith("_rate")}
                       for d, e in EXPECTED_NOVEMBER.items()}  # fmt: skip

    async def november():
        rows = await department_rows(client, clock, "2026-11")
        figures = {d: {k: row["figures"][k] for k in expected_counts[d]} for d, row in rows.items()}
        return rows if figures == expected_counts else None

    rows = await eventually(november, timeout_s=30)
    for department, expected in EXPECTED_NOVEMBER.items():
        assert rows[department]["figures"] == expected, department
        assert rows[department]["name"] == NAMES[department]
    assert rows[B]["rank"] < rows[A]["rank"]  # satisfaction 1.0 above 0.6667

    october = await department_rows(client, clock, "2026-10")
    assert october[A]["figures"]["assigned"] == 1
    assert october[A]["figures"]["responded_on_time"] == 1
    december = await department_rows(client, clock, "2026-12")
    assert december[B]["figures"]["evaluated"] == 1
    assert B in december
    assert A not in december

    # The counters kept from the events equal a recompute from the stored facts.
    sessions = create_session_factory(app.state.runtime.engine)
    zone = app.state.runtime.lists.calendar.zone
    async with sessions() as session:
        kept = await counters.stored(session)
        recomputed, _ = await counters.from_facts(session, zone)
    mine = {k: v for k, v in kept.items() if k[1] in (A, B)}
    assert mine == {k: v for k, v in recomputed.items() if k[1] in (A, B)}
    assert len(mine) > 20
    async with sessions() as session, session.begin():
        await counters.recompute(session, zone)
    assert (await department_rows(client, clock, "2026-11")) == rows


async def _is(state, expected):
    return (await state) == expected


async def test_the_reply_asks_the_citizen_through_citizen_notifications(feedback, infra):
    app, _client, _clock = feedback
    task = Task(B, at(11, 26, 10))
    await classify(infra, app, [classified(task.demand_id, task.assigned, phone="13912345678")])
    await publish(infra, [task.assigned_event(), task.signed(at(11, 26, 10, 5)),
                          *task.replied(at(11, 26, 16), text="路灯已修复")])  # fmt: skip
    [record] = await read_records(
        infra.kafka_bootstrap_servers,
        [topics.CITIZEN_NOTIFICATIONS],
        lambda r: r.key == str(task.demand_id).encode(),
        timeout_s=60,
    )
    event = CallbackRequested.model_validate_json(record.value)
    token = tracking_token(AUTH_SECRET, str(task.demand_id))
    assert event.citizen_phone == "13912345678"
    assert event.department_name == NAMES[B]
    assert event.reply_text == "路灯已修复"
    assert (
        event.evaluation_url
        == f"https://12345.example/evaluate?demand={task.demand_id}&token={token}"
    )
    # Thursday 16:00 + three working days: Tuesday 1 December, 16:00.
    assert event.evaluate_by == at(12, 1, 16)
    assert event.reply_round == 1

    # The reference gateway logs what it would send, masked.
    out = io.StringIO()
    stop = asyncio.Event()
    watcher = asyncio.create_task(
        log_notifications(
            infra.kafka_bootstrap_servers, out=out, zone=HUZHOU, group=None, stop=stop
        )
    )

    def logged():
        return [json.loads(line) for line in out.getvalue().splitlines()
                if json.loads(line).get("demand_id") == str(task.demand_id)]  # fmt: skip

    [line] = await eventually(logged, timeout_s=30)
    stop.set()
    await watcher
    assert line["to"] == "139****5678"
    assert line["channel"] == "sms"
    assert "路灯已修复" in line["text"]
    assert "token=***" in line["text"]
    assert "13912345678" not in out.getvalue()
    assert token not in out.getvalue()

    # Closing the demand erases the phone feedback kept for the callback.
    await publish(infra, [DemandStatusChanged(demand_id=task.demand_id, occurred_at=at(11, 27),
                                              status=DemandStatus.closed)])  # fmt: skip

    async def erased():
        async with app.state.runtime.sessions() as session:
            phone = await session.scalar(
                select(DemandFact.citizen_phone).where(DemandFact.demand_id == task.demand_id)
            )
        return phone is None

    await eventually(erased, timeout_s=30)


async def test_evaluation_rules(feedback, infra):
    app, client, clock = feedback
    task = Task(A, at(11, 24))
    await classify(infra, app, [classified(task.demand_id, task.assigned)])
    await publish(infra, [task.assigned_event(), task.signed(at(11, 24, 9, 30)),
                          *task.replied(at(11, 24, 15))])  # fmt: skip
    await eventually(
        lambda: _is(callback_state(app, task.demand_id), ("awaiting_evaluation", 1)), timeout_s=30
    )
    clock.set(at(11, 25))
    body = {"resolved": True, "satisfaction": "satisfied"}
    unknown = uuid.uuid4()
    wrong = await client.post(
        f"/v1/demands/{task.demand_id}/evaluation?token=wrong-token-1", json=body
    )
    missing = await client.post(
        f"/v1/demands/{unknown}/evaluation?token={tracking_token(AUTH_SECRET, str(unknown))}",
        json=body,
    )
    # A wrong token and a demand that does not exist are told apart by nothing.
    assert wrong.status_code == missing.status_code == 404
    assert wrong.json() == missing.json()

    department = bearer(clock, Role.department, department_id=A)
    refused = await client.post(
        f"/v1/callbacks/{task.demand_id}/evaluation", json=body, headers=department
    )
    assert refused.status_code == 403
    anonymous = await client.post(f"/v1/callbacks/{task.demand_id}/evaluation", json=body)
    assert anonymous.status_code == 401
    nothing = await client.post(
        f"/v1/callbacks/{unknown}/evaluation", json=body, headers=bearer(clock, Role.operator)
    )
    assert nothing.status_code == 404

    bad = await client.post(
        f"/v1/callbacks/{task.demand_id}/evaluation", json={"resolved": True, "satisfaction": "great"},
        headers=bearer(clock, Role.operator),
    )  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.satisfaction"

    # The operator's work list: whom to phone, the nearest window end first.
    listed = await client.get("/v1/callbacks?limit=500", headers=bearer(clock, Role.operator))
    assert listed.status_code == 200
    [mine] = [c for c in listed.json() if c["demand_id"] == str(task.demand_id)]
    assert mine["citizen_phone"] == "13800138000"
    assert mine["evaluate_by"] == "2026-11-27T07:00:00Z"  # Friday 15:00 in Huzhou
    assert (await client.get("/v1/callbacks", headers=department)).status_code == 403

    first = await evaluate(client, clock, task, at(11, 25), resolved=True, satisfaction="satisfied")
    assert first.status_code == 201
    again = await evaluate(
        client, clock, task, at(11, 25, 10), resolved=False, satisfaction="dissatisfied",
        operator=True,
    )  # fmt: skip
    assert again.status_code == 409
    assert "already evaluated" in again.json()["detail"]
    assert "first evaluation is kept" in again.json()["detail"]
    async with app.state.runtime.sessions() as session:
        kept = await session.get(Callback, task.demand_id)
    assert (kept.satisfaction, kept.resolved, kept.evaluated_by) == ("satisfied", True, "citizen")


async def test_rankings_and_hot_spots_by_jurisdiction(feedback, infra):
    _app, client, clock = feedback
    m1, m2, m3 = (f"TEST-{SUFFIX}-{n}" for n in ("M1", "M2", "M3"))
    plan = [(m1, 10, 1), (m2, 10, 3), (m1, 11, 4), (m2, 11, 2), (m3, 11, 1)]
    events = [
        classified(uuid.uuid4(), at(month, 1 + i), matter=matter, unit=HOT_UNIT)
        for matter, month, count in plan
        for i in range(count)
    ]
    await publish(infra, events)
    district = bearer(clock, Role.coordinator, unit_code="330502000000")

    async def spots():
        response = await client.get(
            "/v1/hotspots?unit=330502001000&month=2026-11&limit=50", headers=district
        )
        assert response.status_code == 200, response.text
        mine = [
            s
            for s in response.json()["hotspots"]
            if s["matter_code"].startswith(f"TEST-{SUFFIX}-M")
        ]
        return mine if len(mine) == 2 else None

    mine = await eventually(spots, timeout_s=30)
    assert [(s["matter_code"], s["count"], s["previous"], s["growth"]) for s in mine] == [
        (m1, 4, 1, 3),
        (m3, 1, 0, 1),
    ]  # M2 fell from 3 to 2: not a hot spot

    table = await client.get("/v1/rankings?level=street&month=2026-11", headers=district)
    assert table.status_code == 200, table.text
    body = table.json()
    assert body["within"] == "330502000000"
    assert body["level"] == "street"
    assert body["rows"]
    assert all(r["unit_code"].startswith("330502") for r in body["rows"])
    assert [r["rank"] for r in body["rows"]] == list(range(1, len(body["rows"]) + 1))
    street = next(r for r in body["rows"] if r["unit_code"] == "330502001000")
    assert street["name"] == "月河街道"
    assert street["figures"]["assigned"] >= EXPECTED_NOVEMBER[B]["assigned"]

    # The district month by month, summed by the database, is its own row of the ranking.
    trend = await client.get("/v1/rates?until=2026-11&months=2", headers=district)
    assert trend.status_code == 200, trend.text
    assert [m["month"] for m in trend.json()["months"]] == ["2026-10", "2026-11"]
    for month in trend.json()["months"]:
        own = await client.get(
            f"/v1/rankings?level=district&month={month['month']}&hotspots=0", headers=district
        )
        assert [r["figures"] for r in own.json()["rows"]] == [month["figures"]]
    assert (await client.get("/v1/rates?unit=330503000000", headers=district)).status_code == 403

    # Outside the jurisdiction, above it, or malformed: refused, naming the field.
    outside = await client.get("/v1/rankings?unit=330503000000&month=2026-11", headers=district)
    assert outside.status_code == 403
    street_coordinator = bearer(clock, Role.coordinator, unit_code="330502001000")
    above = await client.get(
        "/v1/rankings?level=district&month=2026-11", headers=street_coordinator
    )
    assert above.status_code == 422
    assert above.json()["errors"][0]["field"] == "level"
    month = await client.get("/v1/rankings?month=2026-13", headers=district)
    assert month.status_code == 422
    assert month.json()["errors"][0]["field"] == "query.month"
    operator = await client.get("/v1/rankings?month=2026-11", headers=bearer(clock, Role.operator))
    assert operator.status_code == 403
    hot_outside = await client.get("/v1/hotspots?unit=330503001000", headers=district)
    assert hot_outside.status_code == 403


async def test_a_phone_that_comes_after_the_reply_is_asked_again(feedback, infra):
    """demand.classified and demand.status are not ordered with each other: when the reply is
    seen first, the request goes out without a phone, and again once the phone is known."""
    app, _client, _clock = feedback
    task = Task(B, at(11, 27, 10))
    await publish(infra, task.replied(at(11, 27, 15))[1:])  # the status only
    await eventually(
        lambda: _is(callback_state(app, task.demand_id), ("awaiting_evaluation", 1)), timeout_s=30
    )
    await publish(infra, [classified(task.demand_id, task.assigned, phone="13700137000")])
    records = await read_records(
        infra.kafka_bootstrap_servers,
        [topics.CITIZEN_NOTIFICATIONS],
        lambda r: r.key == str(task.demand_id).encode(),
        count=2,
        timeout_s=60,
    )
    phones = [CallbackRequested.model_validate_json(r.value).citizen_phone for r in records]
    assert phones == [None, "13700137000"]
