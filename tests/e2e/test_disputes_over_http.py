"""A demand returned by two departments goes to the city's coordinator, who rules over HTTP:
the citizen sees no department meanwhile, the ruled task is final, the timeline tells it all."""

import json
from datetime import UTC, datetime

import httpx

from services.runtime.auth import Role, issue_token
from tests.conftest import AUTH_SECRET
from tests.e2e.test_demand_to_closed import (
    CHANNEL,
    DEMAND,
    NOISE_DEPT,
    POLICE_DEPT,
    _token,
    _until_status,
)
from tests.kafka_helpers import district_task_topics, eventually, header, read_records


def _coordinator(unit_code):
    token = issue_token(
        AUTH_SECRET,
        sub=f"coordinator@{unit_code}",
        role=Role.coordinator,
        unit_code=unit_code,
        now=datetime.now(UTC),
    )
    return {"Authorization": f"Bearer {token}"}


async def test_returned_twice_the_city_coordinator_rules_over_http(system, infra):
    urls, _ = system
    legal = {"reason_code": "not_our_duty", "legal_basis": "依《职责清单》该事项不属本单位"}
    async with httpx.AsyncClient(timeout=10) as client:
        accepted = (
            await client.post(f"{urls['intake']}/v1/demands", json=DEMAND, headers=CHANNEL)
        ).json()
        demand_id = accepted["demand_id"]

        async def lead_task_of(department):
            [record] = await read_records(
                infra.kafka_bootstrap_servers,
                district_task_topics(),
                lambda r: (
                    header(r, "ce_demandid") == demand_id
                    and header(r, "ce_departmentid") == department
                    and header(r, "ce_type") == "cn.liandong.task.assigned.v1"
                    and json.loads(r.value)["role"] == "lead"
                ),
            )
            return f"{urls['routing']}/v1/tasks/{json.loads(record.value)['task_id']}"

        first = await lead_task_of(NOISE_DEPT)
        lead = {"Authorization": f"Bearer {_token(NOISE_DEPT)}"}
        bad = await client.post(
            f"{first}/return", headers=lead, json={"reason_code": "not_our_duty"}
        )
        assert bad.status_code == 422
        assert "body.legal_basis" in [e["field"] for e in bad.json()["errors"]]
        assert (await client.post(f"{first}/return", headers=lead, json=legal)).json()[
            "state"
        ] == "returned"

        second = await lead_task_of(POLICE_DEPT)
        police = {"Authorization": f"Bearer {_token(POLICE_DEPT)}"}
        assert (
            await client.post(f"{second}/return", headers=police, json=legal)
        ).status_code == 200

        disputes = f"{urls['routing']}/v1/disputes"
        assert (await client.get(disputes, headers=lead)).status_code == 403
        district = (await client.get(disputes, headers=_coordinator("330503000000"))).json()
        assert demand_id not in [d["demand_id"] for d in district]

        async def city_dispute():
            found = (await client.get(disputes, headers=_coordinator("330500000000"))).json()
            return next((d for d in found if d["demand_id"] == demand_id), None)

        dispute = await eventually(city_dispute)
        assert dispute["returned_by"] == [NOISE_DEPT, POLICE_DEPT]
        # The citizen sees no department while the coordinator decides: not the one that
        # returned the demand, nor its reply deadline.
        track = f"{urls['intake']}/v1/demands/{demand_id}?token={accepted['tracking_token']}"
        waiting = await _until_status(client, track, "triage")
        assert (waiting["status_text"], waiting["department_name"]) == ("人工分拨中", None)
        assert waiting["expected_reply_at"] is None
        assert waiting["timeline"][-1]["note"] == "承办部门存在争议，由上级协调员裁定承办部门。"
        ruling = {
            "lead_department_id": NOISE_DEPT,
            "co_handler_department_ids": [POLICE_DEPT],
            "legal_basis_from_lists": True,
        }
        unlawful = await client.post(  # a ruling with no legal basis: 422 naming the field
            f"{disputes}/{dispute['dispute_id']}/ruling",
            headers=_coordinator("330500000000"),
            json={"lead_department_id": NOISE_DEPT, "legal_basis": " "},
        )
        assert unlawful.status_code == 422
        assert [e["field"] for e in unlawful.json()["errors"]] == ["body.legal_basis"]
        outside = await client.post(
            f"{disputes}/{dispute['dispute_id']}/ruling",
            headers=_coordinator("330521000000"),
            json=ruling,
        )
        assert outside.status_code == 403
        ruled = await client.post(
            f"{disputes}/{dispute['dispute_id']}/ruling",
            headers=_coordinator("330500000000"),
            json=ruling,
        )
        assert ruled.status_code == 200, ruled.text
        assert ruled.json()["rule"].startswith("arbitration:")
        settled = await _until_status(client, track, "assigned")
        assert settled["department_name"] == "吴兴区综合行政执法局"
        assert settled["expected_reply_at"] is not None
        final = f"{urls['routing']}/v1/tasks/{ruled.json()['task_id']}"
        refused = await client.post(f"{final}/return", headers=lead, json=legal)
        assert refused.status_code == 409
        assert "final" in refused.json()["detail"]
        timeline = await client.get(
            f"{urls['routing']}/v1/demands/{demand_id}/timeline",
            headers=_coordinator("330500000000"),
        )
        actions = [(s["department_id"], s["action"]) for s in timeline.json()]
        assert actions[:2] == [(NOISE_DEPT, "assign"), (POLICE_DEPT, "assign")]
        assert (NOISE_DEPT, "return") in actions
        assert (POLICE_DEPT, "supersede") in actions
        assert (POLICE_DEPT, "return") in actions
        assert actions[-1][1] == "assign"
        stranger = {"Authorization": f"Bearer {_token('330502000000.housing_construction')}"}
        assert (
            await client.get(f"{urls['routing']}/v1/demands/{demand_id}/timeline", headers=stranger)
        ).status_code == 404
