"""Rows and probes of the authorisation matrix for the front desk: the triage queue's desk
exits, the knowledge base, and the citizen's withdrawal and addition (read with
tests/e2e/test_authorisation_matrix.py, whose columns and conventions they follow)."""

from __future__ import annotations

from typing import Any

FRONT_DESK_MATRIX = """
classification POST   /v1/triage/{demand_id}/answer                     403 403  403 403  403  403   403   403 403   403  403  403  404 401   401  401  401  401
classification POST   /v1/triage/{demand_id}/praise                     403 403  403 403  403  403   403   403 403   403  403  403  404 401   401  401  401  401
classification POST   /v1/triage/{demand_id}/close                      403 403  403 403  403  403   403   403 403   403  403  403  404 401   401  401  401  401
classification POST   /v1/triage/{demand_id}/merge                      403 403  403 403  403  403   403   403 403   403  403  403  404 401   401  401  401  401
classification GET    /v1/triage/{demand_id}/knowledge                  403 403  403 403  403  403   403   403 403   403  403  403  404 401   401  401  401  401
classification GET    /v1/knowledge                                     403 403  403 403  403  403   200   200 200   403  403  403  403 401   401  401  401  401
classification POST   /v1/knowledge                                     403 403  403 403  403  403   422   422 422   403  403  403  403 401   401  401  401  401
classification PUT    /v1/knowledge/{entry_id}                          403 403  403 403  403  403   422   422 422   403  403  403  403 401   401  401  401  401
classification DELETE /v1/knowledge/{entry_id}                          403 403  403 403  403  403   404   404 404   403  403  403  403 401   401  401  401  401
classification GET    /v1/knowledge/search                              403 403  403 403  403  403   200   200 200   403  403  403  200 401   401  401  401  401
intake         POST   /v1/demands/{demand_id}/withdraw                  422 422  422 422  422  422   422   422 422   422  422  422  422 409   404  422  422  422
intake         POST   /v1/demands/{demand_id}/supplement                422 422  422 422  422  422   422   422 422   422  422  422  422 409   404  422  422  422
"""

# Open311 reading is public (GeoReport v2): any caller may read any request (with no personal
# data), so the ids of the world's demands in these answers are no leak.
PUBLIC_READS = frozenset(
    {
        "intake GET /open311/v2/requests.{ext}",
        "intake GET /open311/v2/requests/{service_request_id}.{ext}",
        "intake GET /open311/v2/tokens/{token}.{ext}",
    }
)
FRONT_DESK_MATRIX += """
intake         GET    /open311/v2/tokens/{token}.{ext}                  200 200  200 200  200  200   200   200 200   200  200  200  200 200   200  200  200  200
"""
# Rows only, no blank line: they follow MATRIX's last row.
FRONT_DESK_MATRIX = "".join(f"{line}\n" for line in FRONT_DESK_MATRIX.splitlines() if line.strip())

# A knowledge-base entry the domain refuses once the department's credential is accepted.
KNOWLEDGE_REFUSED = {"question": "怎么办理？", "answer": "到窗口办理。", "matters": ["NO-SUCH"]}


def front_desk_probes(probe: Any, *, department: str, random_id: str) -> dict[str, Any]:
    """The probes, built with the matrix's Probe. The citizen acts on demand `e` (evaluated and
    closed): allowed, the citizen reads 409, and nothing changes for the next cell."""
    return {
        "classification POST /v1/triage/{demand_id}/answer": probe(
            "/v1/triage/{d}/answer", json={"answer": "持身份证到窗口办理。"}
        ),
        "classification POST /v1/triage/{demand_id}/praise": probe(
            "/v1/triage/{d}/praise", json={"department_id": department}
        ),
        "classification POST /v1/triage/{demand_id}/close": probe(
            "/v1/triage/{d}/close", json={"reason": "spam"}
        ),
        "classification POST /v1/triage/{demand_id}/merge": probe(
            "/v1/triage/{d}/merge", json={"into_demand_id": random_id}
        ),
        "classification GET /v1/triage/{demand_id}/knowledge": probe("/v1/triage/{d}/knowledge"),
        "classification GET /v1/knowledge": probe("/v1/knowledge"),
        "classification POST /v1/knowledge": probe("/v1/knowledge", json=KNOWLEDGE_REFUSED),
        "classification PUT /v1/knowledge/{entry_id}": probe(
            f"/v1/knowledge/{random_id}", json=KNOWLEDGE_REFUSED
        ),
        "classification DELETE /v1/knowledge/{entry_id}": probe(f"/v1/knowledge/{random_id}"),
        "classification GET /v1/knowledge/search": probe("/v1/knowledge/search", {"q": "户口迁入"}),
        "intake GET /open311/v2/tokens/{token}.{ext}": probe("/open311/v2/tokens/{d}.json"),
        "intake POST /v1/demands/{demand_id}/withdraw": probe(
            "/v1/demands/{e}/withdraw", json={"reason": "已自行解决"}, demand="e"
        ),
        "intake POST /v1/demands/{demand_id}/supplement": probe(
            "/v1/demands/{e}/supplement", json={"text": "补充说明"}, demand="e"
        ),
    }
