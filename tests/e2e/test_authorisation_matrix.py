"""The authorisation matrix: every HTTP operation of the four services against every role, each
expected answer written once in MATRIX below, checked against the services running as processes
on real PostgreSQL and a real broker. Every response is also searched for the test citizen's name
and phone (the data list gives them to the lead only) and for ids of demands the role may not know.

An operation a service publishes in its OpenAPI document but missing from MATRIX (or the rows
of tests/e2e/matrix_*.py) fails the test: a new endpoint is not done until a row says who may.

How a cell is probed without changing what the next cell sees: an action a role may take is sent
so that the domain refuses it after the authorisation check (a stale If-Match version, an unknown
department, a decision already made): an allowed caller reads 409 or 422, a refused one 401-404.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.runtime.auth import Role, issue_token
from tests.conftest import AUTH_SECRET, CITES_LAW
from tests.e2e.matrix_front_desk import FRONT_DESK_MATRIX, PUBLIC_READS, front_desk_probes
from tests.e2e.matrix_table import operations, parse_matrix
from tests.kafka_helpers import eventually

# --- who ------------------------------------------------------------------------------------------

DISTRICT = "330502000000"  # 吴兴区: the unit of the demand's departments
SIBLING = "330503000000"  # 南浔区: a district beside it
CITY = "330500000000"  # 湖州市: the parent
DEPT_A = f"{DISTRICT}.urban_management"  # leads a noise complaint
DEPT_B = f"{DISTRICT}.housing_construction"  # same district, not on the demand (summoned)
CO_HANDLER = f"{DISTRICT}.public_security"  # co-handles a noise complaint

CHANNELS = ("hotline", "app", "mini_program", "web", "grid_worker")

# Column headings of MATRIX, in order.
ROLES = (
    "hotl",  # front ends, each with its own bearer token: hotline desk (submitted the demands),
    "app",  # city app,
    "mini",  # mini-program,
    "web",  # web form,
    "grid",  # grid worker,
    "o311",  # and an Open311 client with an X-API-Key
    "deptA",  # the lead department of the demand
    "deptB",  # another department of the same district, summoned to the demand
    "coh",  # the co-handler department
    "cUnit",  # coordinator of the departments' district
    "cSib",  # coordinator of a sibling district
    "cPar",  # coordinator of the city above
    "oper",  # 12345 hotline operator
    "cit",  # the citizen: the demand's tracking token, no credential
    "wrong",  # a tracking token that is not the demand's
    "none",  # nothing at all
    "expd",  # the lead department's token, expired
    "forg",  # the city coordinator's claims signed with another secret
)

# --- what answers ---------------------------------------------------------------------------------
# One row per operation: service, method, path as the service's OpenAPI names it, then the status
# each role gets. 409/422 on an action: authorised, refused by the domain (see the docstring).
MATRIX = """
service        method path                                             hotl app mini web grid o311 deptA deptB coh cUnit cSib cPar oper cit wrong none expd forg
intake         GET    /health/live                                      200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
intake         GET    /health/ready                                     200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
intake         GET    /metrics                                          200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
intake         POST   /v1/demands                                       422 422  422 422  422  422   403   403 403   403  403  403  422 401   401  401  401  401
intake         GET    /v1/demands/{demand_id}                           422 422  422 422  422  422   422   422 422   422  422  422  422 200   404  422  422  422
intake         POST   /v1/callers/demands                               403 403  403 403  403  403   403   403 403   403  403  403  200 401   401  401  401  401
intake         GET    /v1/units                                         200 200  200 200  200  200   200   200 200   200  200  200  200 401   401  401  401  401
intake         GET    /v1/units/{code}                                  200 200  200 200  200  200   200   200 200   200  200  200  200 401   401  401  401  401
intake         GET    /v1/units/{code}/children                         200 200  200 200  200  200   200   200 200   200  200  200  200 401   401  401  401  401
intake         GET    /v1/departments                                   200 200  200 200  200  200   200   200 200   200  200  200  200 401   401  401  401  401
intake         GET    /v1/matters                                       200 200  200 200  200  200   200   200 200   200  200  200  200 401   401  401  401  401
intake         GET    /v1/matters/{code}                                200 200  200 200  200  200   200   200 200   200  200  200  200 401   401  401  401  401
intake         GET    /open311/v2/services.{ext}                        200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
intake         GET    /open311/v2/services/{service_code}.{ext}         200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
intake         POST   /open311/v2/requests.{ext}                        404 404  404 404  404  404   403   403 403   403  403  403  404 403   403  403  403  403
intake         GET    /open311/v2/requests.{ext}                        200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  403  403
intake         GET    /open311/v2/requests/{service_request_id}.{ext}   200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  403  403
classification GET    /health/live                                      200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
classification GET    /health/ready                                     200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
classification GET    /metrics                                          200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
classification GET    /v1/triage                                        403 403  403 403  403  403   403   403 403   403  403  403  200 401   401  401  401  401
classification POST   /v1/triage/{demand_id}/classify                   403 403  403 403  403  403   403   403 403   403  403  403  404 401   401  401  401  401
routing        GET    /health/live                                      200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
routing        GET    /health/ready                                     200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
routing        GET    /metrics                                          200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
routing        GET    /v1/tasks                                         403 403  403 403  403  403   200   200 200   403  403  403  403 401   401  401  401  401
routing        GET    /v1/tasks/{task_id}                               403 403  403 403  403  403   200   404 404   403  403  403  403 401   401  401  401  401
routing        POST   /v1/tasks/{task_id}/sign                          403 403  403 403  403  403   409   404 404   403  403  403  403 401   401  401  401  401
routing        POST   /v1/tasks/{task_id}/contact                       403 403  403 403  403  403   409   404 404   403  403  403  403 401   401  401  401  401
routing        POST   /v1/tasks/{task_id}/reply                         403 403  403 403  403  403   409   404 404   403  403  403  403 401   401  401  401  401
routing        POST   /v1/tasks/{task_id}/return                        403 403  403 403  403  403   409   404 404   403  403  403  403 401   401  401  401  401
routing        POST   /v1/tasks/{task_id}/request-extension             403 403  403 403  403  403   409   404 404   403  403  403  403 401   401  401  401  401
routing        POST   /v1/summons/{summons_id}/arrival                  403 403  403 403  403  403   404   200 404   403  403  403  403 401   401  401  401  401
routing        GET    /v1/jurisdiction/tasks                            403 403  403 403  403  403   403   403 403   200  403  200  403 401   401  401  401  401
routing        GET    /v1/jurisdiction/counts                           403 403  403 403  403  403   403   403 403   200  403  200  403 401   401  401  401  401
routing        GET    /v1/disputes                                      403 403  403 403  403  403   403   403 403   200  200  200  403 401   401  401  401  401
routing        GET    /v1/escalations                                   403 403  403 403  403  403   403   403 403   200  403  200  403 401   401  401  401  401
routing        POST   /v1/disputes/{dispute_id}/ruling                  403 403  403 403  403  403   403   403 403   403  403  409  403 401   401  401  401  401
routing        GET    /v1/extensions                                    403 403  403 403  403  403   403   403 403   200  200  200  403 401   401  401  401  401
routing        POST   /v1/extensions/{extension_id}/decision            403 403  403 403  403  403   403   403 403   409  403  409  403 401   401  401  401  401
routing        POST   /v1/tasks/{task_id}/reassign                      403 403  403 403  403  403   403   403 403   422  403  422  403 401   401  401  401  401
routing        POST   /v1/tasks/{task_id}/co-handlers                   403 403  403 403  403  403   403   403 403   422  403  422  403 401   401  401  401  401
routing        POST   /v1/tasks/{task_id}/summons                       403 403  403 403  403  403   403   403 403   422  403  422  403 401   401  401  401  401
routing        GET    /v1/duplicates                                    403 403  403 403  403  403   403   403 403   200  200  200  403 401   401  401  401  401
routing        POST   /v1/duplicates/{link_id}/undo                     403 403  403 403  403  403   403   403 403   404  404  404  403 401   401  401  401  401
routing        GET    /v1/demands/{demand_id}/timeline                  404 404  404 404  404  404   200   200 200   200  404  200  404 401   401  401  401  401
feedback       GET    /health/live                                      200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
feedback       GET    /health/ready                                     200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
feedback       GET    /metrics                                          200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
feedback       POST   /v1/demands/{demand_id}/evaluation                422 422  422 422  422  422   422   422 422   422  422  422  422 409   404  422  422  422
feedback       POST   /v1/callbacks/{demand_id}/evaluation              403 403  403 403  403  403   403   403 403   403  403  403  409 401   401  401  401  401
feedback       GET    /v1/callbacks                                     403 403  403 403  403  403   403   403 403   403  403  403  200 401   401  401  401  401
feedback       GET    /v1/rankings                                      403 403  403 403  403  403   403   403 403   200  403  200  403 401   401  401  401  401
feedback       GET    /v1/rates                                         403 403  403 403  403  403   403   403 403   200  403  200  403 401   401  401  401  401
feedback       GET    /v1/hotspots                                      403 403  403 403  403  403   403   403 403   200  403  200  403 401   401  401  401  401
"""
# Notes on rows whose answers are not obvious:
# - GET /v1/demands/{id} and the citizen's evaluation take only the tracking token: a staff
#   credential without it is a 422 naming the missing `token`.
# - A dispute or an extension waits at the coordinator above the department's unit (here the
#   city): the district's own coordinator does not rule it (403), the city does.
# - Open311 answers its own way: 403 without a valid key, 404 for another channel's request
#   (as for an unknown one), 404 for the unknown service_code of the POST probe.
# - The summoned department reports arrival (a second report changes nothing: 200).
# - The timeline: departments holding a task on the demand, coordinators above one; everyone
#   else reads 404, as for a demand that does not exist.
# - Duplicate merging is off in the end-to-end system, so the undo probe names no link: 404 for
#   every coordinator, 403 for everyone else (tests/integration/test_duplicates.py covers the
#   jurisdiction of undo on a real link).


# --- the world the probes act on ------------------------------------------------------------------

CITIZEN_NAME = "欧阳晓霞"
CITIZEN_PHONE = "13900001111"  # also written into the demand's text, as citizens do


@dataclass
class World:
    """The objects the probes name: one demand `d` with lead and co-handler tasks, a summons
    and a refused extension; `d2` in a dispute, ruled; `e` replied and evaluated; `f` replied and
    waiting for its callback."""

    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # demand → tracking token


@dataclass(frozen=True)
class Probe:
    path: str  # formatted with World.ids
    query: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    demand: str = "d"  # whose tracking token the citizen's column sends


STALE = {"If-Match": "999999"}  # a version the task never had: 409 once past the owner check
NOBODY = "330502000000.no_such_department"
RANDOM = "00000000-0000-4000-8000-000000000000"

PROBES: dict[str, Probe] = {
    "intake POST /v1/demands": Probe(
        "/v1/demands",
        json={
            "channel": "hotline",
            "content": "小区门口路灯坏了一个月，晚上很黑",
            "location": {"unit_code": "330502001016"},
            "matter_code": "NO-SUCH-MATTER",  # refused after the credential is accepted
        },
    ),
    "intake GET /v1/demands/{demand_id}": Probe("/v1/demands/{d}"),
    "intake POST /v1/callers/demands": Probe("/v1/callers/demands", json={"phone": CITIZEN_PHONE}),
    "intake GET /v1/units": Probe("/v1/units", {"q": "吴兴"}),
    "intake GET /v1/units/{code}": Probe(f"/v1/units/{DISTRICT}"),
    "intake GET /v1/units/{code}/children": Probe(f"/v1/units/{DISTRICT}/children"),
    "intake GET /v1/departments": Probe("/v1/departments", {"unit": DISTRICT}),
    "intake GET /v1/matters": Probe("/v1/matters"),
    "intake GET /v1/matters/{code}": Probe("/v1/matters/ENV-NOISE-LIFE"),
    "intake GET /open311/v2/services.{ext}": Probe("/open311/v2/services.json"),
    "intake GET /open311/v2/services/{service_code}.{ext}": Probe(
        "/open311/v2/services/ENV-NOISE-LIFE.json"
    ),
    "intake POST /open311/v2/requests.{ext}": Probe(
        "/open311/v2/requests.json",
        form={"service_code": "NO-SUCH-SERVICE", "description": "路灯坏了", "lat": "30.87"},
    ),
    "intake GET /open311/v2/requests.{ext}": Probe("/open311/v2/requests.json"),
    "intake GET /open311/v2/requests/{service_request_id}.{ext}": Probe(
        "/open311/v2/requests/{d}.xml"
    ),
    "classification GET /v1/triage": Probe("/v1/triage"),
    "classification POST /v1/triage/{demand_id}/classify": Probe(
        "/v1/triage/{d}/classify",
        json={"matter_code": "ENV-NOISE-LIFE", "unit_code": "330502001016"},
    ),
    "routing GET /v1/tasks": Probe("/v1/tasks"),
    "routing GET /v1/tasks/{task_id}": Probe("/v1/tasks/{d_lead}"),
    "routing POST /v1/tasks/{task_id}/sign": Probe("/v1/tasks/{d_lead}/sign", headers=STALE),
    "routing POST /v1/tasks/{task_id}/contact": Probe("/v1/tasks/{d_lead}/contact", headers=STALE),
    "routing POST /v1/tasks/{task_id}/reply": Probe(
        "/v1/tasks/{d_lead}/reply",
        json={"result": "resolved", "reply_text": "已处理完毕"},
        headers=STALE,
    ),
    "routing POST /v1/tasks/{task_id}/return": Probe(
        "/v1/tasks/{d_lead}/return",
        json={"reason_code": "not_our_duty", "legal_basis": "《城市管理执法办法》第八条"},
        headers=STALE,
    ),
    "routing POST /v1/tasks/{task_id}/request-extension": Probe(
        "/v1/tasks/{d_lead}/request-extension",
        json={"requested": "2 working_days", "reason": "需要夜间联合执法"},
        headers=STALE,
    ),
    "routing POST /v1/summons/{summons_id}/arrival": Probe("/v1/summons/{summons}/arrival"),
    "routing GET /v1/jurisdiction/tasks": Probe("/v1/jurisdiction/tasks", {"unit": DISTRICT}),
    "routing GET /v1/jurisdiction/counts": Probe("/v1/jurisdiction/counts", {"unit": DISTRICT}),
    "routing GET /v1/disputes": Probe("/v1/disputes"),
    "routing GET /v1/escalations": Probe("/v1/escalations", {"unit": DISTRICT, "state": "all"}),
    "routing POST /v1/disputes/{dispute_id}/ruling": Probe(
        "/v1/disputes/{dispute}/ruling", json={"lead_department_id": NOBODY, **CITES_LAW}
    ),
    "routing GET /v1/extensions": Probe("/v1/extensions", {"state": "refused"}),
    "routing POST /v1/extensions/{extension_id}/decision": Probe(
        "/v1/extensions/{extension}/decision", json={"approve": False, **CITES_LAW}
    ),
    "routing POST /v1/tasks/{task_id}/reassign": Probe(
        "/v1/tasks/{d_lead}/reassign", json={"department_id": NOBODY, **CITES_LAW}
    ),
    "routing POST /v1/tasks/{task_id}/co-handlers": Probe(
        "/v1/tasks/{d_lead}/co-handlers", json={"department_id": NOBODY, "reason": "需要配合"}
    ),
    "routing POST /v1/tasks/{task_id}/summons": Probe(
        "/v1/tasks/{d_lead}/summons", json={"department_ids": [NOBODY], "note": "现场会商"}
    ),
    "routing GET /v1/duplicates": Probe("/v1/duplicates"),
    "routing POST /v1/duplicates/{link_id}/undo": Probe(f"/v1/duplicates/{RANDOM}/undo"),
    "routing GET /v1/demands/{demand_id}/timeline": Probe("/v1/demands/{d}/timeline"),
    "feedback POST /v1/demands/{demand_id}/evaluation": Probe(
        "/v1/demands/{e}/evaluation",
        json={"resolved": True, "satisfaction": "satisfied"},
        demand="e",
    ),
    "feedback POST /v1/callbacks/{demand_id}/evaluation": Probe(
        "/v1/callbacks/{e}/evaluation", json={"resolved": True, "satisfaction": "satisfied"}
    ),
    "feedback GET /v1/callbacks": Probe("/v1/callbacks", {"limit": "500"}),
    "feedback GET /v1/rankings": Probe("/v1/rankings", {"unit": DISTRICT}),
    "feedback GET /v1/rates": Probe("/v1/rates", {"unit": DISTRICT}),
    "feedback GET /v1/hotspots": Probe("/v1/hotspots", {"unit": DISTRICT}),
}
PROBES.update(front_desk_probes(Probe, department=DEPT_A, random_id=RANDOM))
for _service in ("intake", "classification", "routing", "feedback"):
    for _path in ("/health/live", "/health/ready", "/metrics"):
        PROBES[f"{_service} GET {_path}"] = Probe(_path)

# --- what each role may read ----------------------------------------------------------------------

ALL_DEMANDS = frozenset({"d", "d2", "e", "f"})
# The demands (of the world) whose ids a role may read anywhere in an answer; any other is a leak.
MAY_KNOW: dict[str, frozenset[str]] = {
    "hotl": ALL_DEMANDS,  # submitted them all (Open311 reads them back)
    "deptA": frozenset({"d", "e", "f"}),
    "deptB": frozenset({"d"}),  # summoned to it
    "coh": frozenset({"d", "e", "f"}),
    "cUnit": ALL_DEMANDS,
    "cPar": ALL_DEMANDS,
    "oper": ALL_DEMANDS,
    "cit": frozenset({"d", "e"}),  # the token of the probe's demand
}
# Where the citizen's personal fields may appear (the data list: the lead only; the operator
# phones the citizen back, so reads the number with the callback; the citizen reads their own
# demand's text).
MAY_SEE_NAME = {("routing GET /v1/tasks", "deptA"), ("routing GET /v1/tasks/{task_id}", "deptA")}
MAY_SEE_PHONE = MAY_SEE_NAME | {
    ("feedback GET /v1/callbacks", "oper"),
    ("intake POST /v1/callers/demands", "oper"),  # looked up by it; the text carries it too
    ("intake GET /v1/demands/{demand_id}", "cit"),
}


# --- building the world ---------------------------------------------------------------------------


def _bearer(
    role: Role, sub: str, *, department_id: str | None = None, unit_code: str | None = None
) -> dict[str, str]:
    token = issue_token(
        AUTH_SECRET,
        sub=sub,
        role=role,
        now=datetime.now(UTC),
        department_id=department_id,
        unit_code=unit_code,
    )
    return {"Authorization": f"Bearer {token}"}


def credentials(app_key: str) -> dict[str, dict[str, str]]:
    """The headers each staff or front-end role sends."""
    found = {
        short: _bearer(Role.channel, f"channel:{name}")
        for short, name in zip(ROLES[:5], CHANNELS, strict=True)
    }
    found["o311"] = {"X-API-Key": app_key}
    for short, department in (("deptA", DEPT_A), ("deptB", DEPT_B), ("coh", CO_HANDLER)):
        found[short] = _department(department)
    for short, unit in (("cUnit", DISTRICT), ("cSib", SIBLING), ("cPar", CITY)):
        found[short] = _bearer(Role.coordinator, f"coordinator@{unit}", unit_code=unit)
    found["oper"] = _bearer(Role.operator, "operator:0571")
    expired = issue_token(
        AUTH_SECRET,
        sub=f"clerk@{DEPT_A}",
        role=Role.department,
        department_id=DEPT_A,
        now=datetime.now(UTC) - timedelta(days=1),
        ttl=timedelta(hours=1),
    )
    found["expd"] = {"Authorization": f"Bearer {expired}"}
    forged = issue_token(
        "not-the-secret-" + "y" * 20,
        sub="coordinator@city",
        role=Role.coordinator,
        unit_code=CITY,
        now=datetime.now(UTC),
    )
    found["forg"] = {"Authorization": f"Bearer {forged}"}
    return found


def _department(department_id: str) -> dict[str, str]:
    return _bearer(Role.department, f"clerk@{department_id}", department_id=department_id)


async def _submit(
    client: httpx.AsyncClient, intake: str, content: str, **extra: Any
) -> tuple[str, str]:
    body = {
        "channel": "hotline",
        "content": content,
        "location": {"unit_code": "330502001016", "address": "月河街道某小区"},
        "citizen": {"name": CITIZEN_NAME, "phone": CITIZEN_PHONE},
        **extra,
    }
    response = await client.post(
        f"{intake}/v1/demands", json=body, headers=_bearer(Role.channel, "channel:hotline")
    )
    assert response.status_code == 201, response.text
    accepted = response.json()
    return accepted["demand_id"], accepted["tracking_token"]


async def _task_of(
    client: httpx.AsyncClient, routing: str, department: str, demand_id: str, role: str
) -> dict[str, Any]:
    async def find() -> dict[str, Any] | None:
        response = await client.get(
            f"{routing}/v1/tasks", params={"limit": 200}, headers=_department(department)
        )
        return next(
            (t for t in response.json() if t["demand_id"] == demand_id and t["role"] == role),
            None,
        )

    found: dict[str, Any] = await eventually(find, timeout_s=60, interval_s=0.3)
    return found


async def _reply(client: httpx.AsyncClient, routing: str, task_id: str) -> None:
    headers = _department(DEPT_A)
    for step in ("sign", "contact"):
        response = await client.post(f"{routing}/v1/tasks/{task_id}/{step}", headers=headers)
        assert response.status_code == 200, response.text
    response = await client.post(
        f"{routing}/v1/tasks/{task_id}/reply",
        headers=headers,
        json={"result": "resolved", "reply_text": "已到现场处理，噪声已停止"},
    )
    assert response.status_code == 200, response.text


async def _dispute_of(client: httpx.AsyncClient, routing: str, demand_id: str) -> str:
    """Return the demand's lead task, department after department, until a dispute opens."""
    city = _bearer(Role.coordinator, "coordinator@city", unit_code=CITY)

    async def dispute() -> str | None:
        response = await client.get(f"{routing}/v1/disputes", headers=city)
        found = [d["dispute_id"] for d in response.json() if d["demand_id"] == demand_id]
        return found[0] if found else None

    async def live_lead() -> dict[str, Any] | None:
        timeline = await client.get(f"{routing}/v1/demands/{demand_id}/timeline", headers=city)
        if timeline.status_code != 200:
            return None
        last: dict[str, dict[str, Any]] = {}
        for step in timeline.json():
            last[step["task_id"]] = step
        live = [s for s in last.values() if s["role"] == "lead" and s["to_state"] == "assigned"]
        return live[0] if live else None

    returned: set[str] = set()

    async def next_step() -> str | dict[str, Any] | None:
        """The dispute, once open; else the lead task not yet returned, once assigned."""
        if (found := await dispute()) is not None:
            return found
        lead = await live_lead()
        return lead if lead is not None and lead["task_id"] not in returned else None

    for _ in range(5):
        step = await eventually(next_step, timeout_s=60, interval_s=0.3)
        if isinstance(step, str):
            return step
        returned.add(step["task_id"])
        response = await client.post(
            f"{routing}/v1/tasks/{step['task_id']}/return",
            headers=_department(step["department_id"]),
            json={"reason_code": "not_our_duty", "legal_basis": "不属于本部门职责范围"},
        )
        assert response.status_code == 200, response.text
    raise AssertionError(f"no dispute opened for {demand_id}")


async def build_world(client: httpx.AsyncClient, urls: Mapping[str, str]) -> World:
    intake, routing = urls["intake"], urls["routing"]
    world = World()
    noise = "小区楼下烧烤店每晚噪音扰民到凌晨两点，请联系我" + CITIZEN_PHONE
    for name, content, extra in (
        ("d", noise, {}),
        (
            "d2",
            "附近工厂车间机器设备日夜轰鸣，工业噪声扰民",
            {"matter_code": "ENV-NOISE-INDUSTRIAL"},
        ),
        ("e", "楼下酒吧音乐声太大，深夜噪音扰民，吵得睡不着", {}),
        ("f", "广场舞音响声音太大，晚上噪音扰民", {}),
    ):
        world.ids[name], world.tokens[name] = await _submit(client, intake, content, **extra)

    lead = await _task_of(client, routing, DEPT_A, world.ids["d"], "lead")
    co = await _task_of(client, routing, CO_HANDLER, world.ids["d"], "co_handler")
    world.ids["d_lead"], world.ids["d_co"] = lead["task_id"], co["task_id"]

    unit = _bearer(Role.coordinator, f"coordinator@{DISTRICT}", unit_code=DISTRICT)
    summoned = await client.post(
        f"{routing}/v1/tasks/{lead['task_id']}/summons",
        headers=unit,
        json={"department_ids": [DEPT_B], "note": "现场会商噪声整治"},
    )
    assert summoned.status_code == 200, summoned.text
    world.ids["summons"] = summoned.json()[0]["id"]

    headers = _department(DEPT_A)
    signed = await client.post(f"{routing}/v1/tasks/{lead['task_id']}/sign", headers=headers)
    assert signed.status_code == 200, signed.text
    asked = await client.post(
        f"{routing}/v1/tasks/{lead['task_id']}/request-extension",
        headers=headers,
        json={"requested": "2 working_days", "reason": "需要夜间联合执法"},
    )
    assert asked.status_code == 200, asked.text
    city = _bearer(Role.coordinator, "coordinator@city", unit_code=CITY)
    pending = await client.get(f"{routing}/v1/extensions", headers=city)
    (extension,) = [x for x in pending.json() if x["task_id"] == lead["task_id"]]
    world.ids["extension"] = extension["id"]
    refused = await client.post(
        f"{routing}/v1/extensions/{extension['id']}/decision",
        headers=city,
        json={"approve": False, "note": "时限内可以完成", **CITES_LAW},
    )
    assert refused.status_code == 200, refused.text

    for name in ("e", "f"):
        task = await _task_of(client, routing, DEPT_A, world.ids[name], "lead")
        await _reply(client, routing, task["task_id"])

    async def evaluated() -> bool:
        response = await client.post(
            f"{urls['feedback']}/v1/demands/{world.ids['e']}/evaluation",
            params={"token": world.tokens["e"]},
            json={"resolved": True, "satisfaction": "satisfied"},
        )
        return response.status_code == 201

    await eventually(evaluated, timeout_s=60, interval_s=0.3)

    async def awaiting_f() -> bool:
        response = await client.get(
            f"{urls['feedback']}/v1/callbacks",
            params={"limit": 500},
            headers=_bearer(Role.operator, "operator:0571"),
        )
        return any(c["demand_id"] == world.ids["f"] for c in response.json())

    await eventually(awaiting_f, timeout_s=60, interval_s=0.3)
    world.ids["dispute"] = await _dispute_of(client, routing, world.ids["d2"])
    # Ruled, so it waits on no clock: the escalation tests sweep this database months ahead.
    ruled = await client.post(
        f"{routing}/v1/disputes/{world.ids['dispute']}/ruling",
        headers=city,
        json={"lead_department_id": f"{DISTRICT}.ecology_environment", **CITES_LAW},
    )
    assert ruled.status_code == 200, ruled.text
    return world


# --- the test -------------------------------------------------------------------------------------


async def test_every_operation_answers_every_role_as_the_matrix_says(services):
    urls = services.urls
    expected = parse_matrix(MATRIX + FRONT_DESK_MATRIX, ROLES)
    staff = credentials(services.app_key)
    async with httpx.AsyncClient(timeout=30) as client:
        published = await operations(client, urls)
        assert not published - set(expected), (
            "operations without a row in MATRIX (add one: who may call them?): "
            f"{sorted(published - set(expected))}"
        )
        assert not set(expected) - published, f"rows of no operation: {set(expected) - published}"
        assert set(PROBES) == set(expected), set(PROBES) ^ set(expected)
        world = await build_world(client, urls)

        wrong: list[str] = []
        for operation, answers in expected.items():
            service, method, _ = operation.split(" ", 2)
            probe = PROBES[operation]
            for role, status in answers.items():
                response = await _send(client, urls[service], method, probe, role, staff, world)
                if response.status_code != status:
                    wrong.append(
                        f"{operation} as {role}: {response.status_code}, expected {status}: "
                        f"{response.text[:160]}"
                    )
                wrong.extend(_leaks(operation, role, response, world))
    assert not wrong, "\n".join(["the matrix does not hold:", *wrong])


async def _send(
    client: httpx.AsyncClient,
    base: str,
    method: str,
    probe: Probe,
    role: str,
    staff: Mapping[str, Mapping[str, str]],
    world: World,
) -> httpx.Response:
    query = dict(probe.query)
    if role == "cit":
        query["token"] = world.tokens[probe.demand]
    elif role == "wrong":
        query["token"] = world.tokens["f" if probe.demand != "f" else "d"]
    headers = {**probe.headers, **staff.get(role, {})}
    return await client.request(
        method,
        base + probe.path.format(**world.ids),
        params=query,
        headers=headers,
        json=probe.json,
        data=probe.form,
    )


def _leaks(operation: str, role: str, response: httpx.Response, world: World) -> list[str]:
    """What the answer says that the role may not read: the citizen's name or phone, or the id
    of a demand it has no business knowing (an id the request itself named may be echoed)."""
    text, asked = response.text, str(response.request.url)
    found = []
    if CITIZEN_NAME in text and (operation, role) not in MAY_SEE_NAME:
        found.append(f"{operation} as {role}: the citizen's name in the answer")
    if CITIZEN_PHONE in text and (operation, role) not in MAY_SEE_PHONE:
        found.append(f"{operation} as {role}: the citizen's phone in the answer")
    may_know = MAY_KNOW.get(role, frozenset())
    for name in frozenset() if operation in PUBLIC_READS else ALL_DEMANDS - may_know:
        if world.ids[name] in text and world.ids[name] not in asked:
            found.append(f"{operation} as {role}: names demand {name}, not the role's to know")
    return found
