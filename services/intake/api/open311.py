"""Open311 GeoReport v2 on intake (https://wiki.open311.org/GeoReport_v2).

- `GET  /open311/v2/services.{json|xml}`: the matter catalogue as services (no key needed);
- `GET  /open311/v2/services/{service_code}.{json|xml}`: its definition (one attribute,
  `demand_type`, the types the matter covers);
- `POST /open311/v2/requests.{json|xml}`: a request, form-encoded, becomes a demand exactly as
  `POST /v1/demands` makes one (same code, channel `open311`);
- `GET  /open311/v2/requests.{json|xml}` and `/requests/{service_request_id}.{json|xml}`:
  status, handling department (`agency_responsible`), reply deadline (`expected_datetime`) and
  the photo link (`media_url`); `GET /open311/v2/tokens/{token}.{json|xml}` (open311_public.py).

Reading is public, as the spec makes it: no credential is needed (one that is given must be
valid). Posting needs a front end's credential: `api_key` (form or query), `X-API-Key` or a
bearer token. The citizen's name, phone and e-mail are never returned; phone and ID numbers in
the description are masked. Errors use the spec's format: `[{"code": 400, "description": "…"}]` or
`<errors><error><code>400</code><description>…</description></error></errors>`.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from contracts.events import Channel, DemandStatus, DemandType
from contracts.lists import Lists, Matter
from contracts.text import Text, first_problem, text_problem
from services.intake import repository
from services.intake.models import Demand
from services.intake.schemas import STATUS_TEXT, DemandIn
from services.intake.service import IdempotencyConflict, accept_demand
from services.runtime.auth import (
    API_KEY_HEADER,
    InvalidToken,
    Principal,
    Role,
    principal_of_api_key,
    principal_of_bearer,
)
from services.runtime.http import RuntimeDep
from services.runtime.logging import mask_text
from services.runtime.masking import mask_house_numbers, mask_known

router = APIRouter(prefix="/open311/v2", tags=["open311"])

Format = Literal["json", "xml"]
DEFAULT_WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
SERVICE_NOTICE = "诉求已受理，将按事项清单分派至责任部门办理。"
# XML: the element name of each item of a list.
_ITEM = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
}


class Open311Error(Exception):
    """Answered in the spec's error format, in the format the client asked for."""

    def __init__(self, code: int, description: str, fmt: Format = "json") -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.fmt = fmt


# --- rendering ---------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: ET.Element, name: str, value: Any) -> None:
    element = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, list):
        for item in value:
            _append(element, _ITEM[name], item)
    else:
        element.text = _text(value)


def to_xml(root: str, payload: list[Any] | Mapping[str, Any]) -> bytes:
    """`<root>` holding the items of a list (each named by _ITEM) or the fields of a mapping;
    None becomes an empty element, booleans true/false."""
    element = ET.Element(root)
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            _append(element, key, value)
    else:
        for item in payload:
            _append(element, _ITEM[root], item)
    ET.indent(element)
    document: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return document


def render(
    fmt: Format, root: str, payload: list[Any] | Mapping[str, Any], status: int = 200
) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, payload), status, media_type="text/xml; charset=utf-8")
    return JSONResponse(payload, status)


def error_response(code: int, description: str, fmt: Format) -> Response:
    return render(fmt, "errors", [{"code": code, "description": description}], status=code)


async def open311_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Open311Error)
    return error_response(exc.code, exc.description, exc.fmt)


def _time(value: datetime | None, zone: ZoneInfo) -> str | None:
    return value.astimezone(zone).isoformat(timespec="seconds") if value else None


def service_of(matter: Matter) -> dict[str, Any]:
    return {
        "service_code": matter.code,
        "service_name": matter.name,
        "description": matter.examples[0] if matter.examples else matter.name,
        "metadata": True,  # the demand_type attribute
        "type": "realtime",
        "keywords": ", ".join(matter.keywords),
        "group": matter.category,
    }


DEMAND_TYPE_NAMES = {
    DemandType.consult: "咨询",
    DemandType.help: "求助",
    DemandType.complaint: "投诉",
    DemandType.report: "举报",
    DemandType.suggestion: "建议",
}


def service_definition(matter: Matter) -> dict[str, Any]:
    return {
        "service_code": matter.code,
        "attributes": [
            {
                "variable": True,
                "code": "demand_type",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": None,
                "order": 1,
                "description": f"诉求类型（默认：{DEMAND_TYPE_NAMES[matter.demand_type]}）",
                "values": [
                    {"key": t.value, "name": DEMAND_TYPE_NAMES[t]} for t in matter.demand_types
                ],
            }
        ],
    }


def request_of(demand: Demand, lists: Lists) -> dict[str, Any]:
    """A demand as a GeoReport request: no personal data."""
    status = DemandStatus(demand.status)
    matter = lists.matters_by_code.get(demand.service_code or "")
    unit = lists.units_by_code.get(demand.unit_code or "")
    zone = lists.calendar.zone
    note = demand.timeline[-1].note if demand.timeline else None
    return {
        "service_request_id": str(demand.id),
        "status": "closed" if status is DemandStatus.closed else "open",
        "status_notes": STATUS_TEXT[status] + (f"：{mask_text(note)}" if note else ""),
        "service_name": matter.name if matter else None,
        "service_code": demand.service_code,
        # Open311 readers are no role of the data list that sees the citizen or the house.
        "description": mask_house_numbers(
            mask_known(
                mask_text(demand.content), [demand.citizen_name or ""], [demand.address or ""]
            )
        ),
        "agency_responsible": demand.department_name,
        "service_notice": None,
        "requested_datetime": _time(demand.received_at, zone),
        "updated_datetime": _time(demand.updated_at, zone),
        "expected_datetime": _time(demand.expected_reply_at, zone),
        "address": mask_house_numbers(demand.address) if demand.address else unit and unit.name,
        "address_id": demand.unit_code,
        "zipcode": None,
        "lat": demand.lat,
        "long": demand.lon,
        "media_url": demand.media_url,
    }


# --- request parsing -----------------------------------------------------------------------------


def _storable(fields: Mapping[str, str], fmt: Format) -> None:
    """400 naming the first field that holds a NUL character or a lone surrogate."""
    found = first_problem(fields)
    if found is not None:
        name, problem = found
        raise Open311Error(400, f"{name}: {problem}", fmt)


def media_url_of(value: str | None, fmt: Format) -> str | None:
    """The request's photo link: an absolute http(s) URL (400 otherwise); none when empty."""
    if not value:
        return None
    parts = urlsplit(value)
    if len(value) > 1000 or parts.scheme not in ("http", "https") or not parts.netloc:
        raise Open311Error(400, "media_url must be an http(s) URL of at most 1000 characters", fmt)
    return value


def _format(value: str) -> Format:
    if value == "json":
        return "json"
    if value == "xml":
        return "xml"
    raise Open311Error(404, f"unknown format {value!r}: use .json or .xml")


def _principal(
    request: Request, params: Mapping[str, str], fmt: Format, *, anyone: bool = False
) -> Principal:
    """A front end's credential: api_key (form or query), X-API-Key, or a bearer token
    (`anyone`: any valid credential, for the public reads)."""
    key = params.get("api_key") or request.headers.get(API_KEY_HEADER)
    authorization = request.headers.get("authorization", "")
    if key:
        principal = principal_of_api_key(request, key)
        if principal is None:
            raise Open311Error(403, "api_key is not valid", fmt)
    elif authorization.lower().startswith("bearer "):
        try:
            principal = principal_of_bearer(request, authorization[7:].strip())
        except InvalidToken as exc:
            raise Open311Error(403, f"bearer token is not valid: {exc}", fmt) from exc
    else:
        raise Open311Error(403, "api_key was not provided", fmt)
    if not anyone and principal.role not in (Role.channel, Role.operator):
        raise Open311Error(403, "requests need a channel or operator api_key", fmt)
    return principal


def _check_jurisdiction(lists: Lists, jurisdiction: str | None, fmt: Format) -> None:
    """One jurisdiction is served: the lists' city (jurisdiction_id is optional)."""
    if jurisdiction and jurisdiction != lists.city_code:
        raise Open311Error(
            404, f"jurisdiction_id {jurisdiction} is not served here (use {lists.city_code})", fmt
        )


def _reader(
    request: Request, ext: str, lists: Lists, jurisdiction: str | None, api_key: str | None
) -> Format:
    """What a GET of requests checks first, in order: the format, the query's text, a
    credential if one is given (reading is public), the jurisdiction."""
    fmt = _format(ext)
    _storable(request.query_params, fmt)
    if api_key or API_KEY_HEADER in request.headers or "authorization" in request.headers:
        _principal(request, {"api_key": api_key or ""}, fmt, anyone=True)
    _check_jurisdiction(lists, jurisdiction, fmt)
    return fmt


def _matter(lists: Lists, code: str | None, fmt: Format) -> Matter:
    if not code:
        raise Open311Error(400, "service_code was not provided", fmt)
    if (problem := text_problem(code)) is not None:
        raise Open311Error(400, f"service_code: {problem}", fmt)
    matter = lists.matters_by_code.get(code)
    if matter is None:
        raise Open311Error(404, f"service_code {code} was not found", fmt)
    return matter


def form_fields(query: Mapping[str, str], body: bytes, content_type: str) -> dict[str, str]:
    """The query parameters and the form-encoded body (which wins), as the spec sends them."""
    fields = dict(query)
    if body:
        if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            raise ValueError("send the fields form-encoded (application/x-www-form-urlencoded)")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError("the form is not UTF-8") from exc
        fields.update(parse_qsl(text, keep_blank_values=True))
    stripped = {k: v.strip() for k, v in fields.items()}
    found = first_problem(stripped)
    if found is not None:
        name, problem = found
        raise ValueError(f"{name}: {problem}")
    return stripped


# Where each DemandIn field comes from in a GeoReport request, for error messages.
_FIELD_NAMES = {
    "content": "description",
    "location": "location",
    "location.lat": "lat",
    "location.lon": "long",
    "location.address": "address_string",
    "location.unit_code": "address_id",
    "citizen.name": "first_name/last_name",
    "citizen.phone": "phone",
    "demand_type": "attribute[demand_type]",
}


def demand_of_form(fields: Mapping[str, str], matter: Matter, lists: Lists) -> DemandIn:
    """The demand a GeoReport request describes; ValueError says which field is wrong."""
    location: dict[str, Any] = {}
    if bool(fields.get("lat")) != bool(fields.get("long")):
        raise ValueError("lat and long come together")
    if fields.get("lat"):
        location["lat"], location["lon"] = fields["lat"], fields["long"]
    if fields.get("address_string"):
        location["address"] = fields["address_string"]
    if fields.get("address_id"):
        code = fields["address_id"]
        if code not in lists.units_by_code:
            raise ValueError(f"address_id {code} is not a division code of {lists.version}")
        location["unit_code"] = code
    if not location:
        raise ValueError("a location is required: lat and long, address_string or address_id")
    demand_type = fields.get("attribute[demand_type]") or None
    if demand_type is not None and demand_type not in {t.value for t in matter.demand_types}:
        allowed = ", ".join(t.value for t in matter.demand_types)
        raise ValueError(f"attribute[demand_type] must be one of {allowed} for {matter.code}")
    first, last = fields.get("first_name", ""), fields.get("last_name", "")
    # Chinese names are written family name first, with no space.
    name = (last + first) if not (first + last).isascii() else f"{first} {last}".strip()
    try:
        return DemandIn(
            channel=Channel.open311,
            content=fields.get("description", ""),
            demand_type=demand_type,
            location=location,
            citizen={"name": name or None, "phone": fields.get("phone") or None},
        )
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = ".".join(str(p) for p in error["loc"])
            problems.append(f"{_FIELD_NAMES.get(path, path)}: {error['msg']}")
        raise ValueError("; ".join(problems)) from exc


def _when(value: str | None, name: str, fmt: Format) -> datetime | None:
    if not value:
        return None
    try:
        # A '+' of the offset arrives as a space when the client did not encode it.
        parsed = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} is not a W3C date-time: {value}", fmt) from exc
    if parsed.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone, e.g. 2026-11-01T00:00:00+08:00", fmt)
    return parsed


def _ids(value: str, fmt: Format) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(part) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise Open311Error(400, f"service_request_id must list request ids: {value}", fmt) from exc


# --- endpoints -----------------------------------------------------------------------------------


@router.get("/services.{ext}", summary="Services: the matter catalogue")
async def services(
    ext: str, request: Request, runtime: RuntimeDep, jurisdiction_id: str | None = None
) -> Response:
    fmt = _format(ext)
    _storable(request.query_params, fmt)
    lists = runtime.lists
    _check_jurisdiction(lists, jurisdiction_id, fmt)
    return render(fmt, "services", [service_of(m) for m in lists.matters])


@router.get("/services/{service_code}.{ext}", summary="A service definition")
async def service(
    service_code: str,
    ext: str,
    request: Request,
    runtime: RuntimeDep,
    jurisdiction_id: str | None = None,
) -> Response:
    fmt = _format(ext)
    _storable(request.query_params, fmt)
    _check_jurisdiction(runtime.lists, jurisdiction_id, fmt)
    matter = _matter(runtime.lists, service_code, fmt)
    return render(fmt, "service_definition", service_definition(matter))


_POST_FIELDS = [
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "attribute[demand_type]",
    "description",
    "first_name",
    "last_name",
    "phone",
    "email",
    "device_id",
    "account_id",
    "media_url",
]


@router.post(
    "/requests.{ext}",
    summary="Submit a service request (becomes a demand)",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["service_code", "description"],
                        "properties": {name: {"type": "string"} for name in _POST_FIELDS},
                    }
                }
            },
        }
    },
)
async def post_request(
    ext: str,
    request: Request,
    runtime: RuntimeDep,
    idempotency_key: Annotated[Text | None, Header(max_length=200)] = None,
) -> Response:
    fmt = _format(ext)
    try:
        fields = form_fields(
            request.query_params, await request.body(), request.headers.get("content-type", "")
        )
    except ValueError as exc:
        raise Open311Error(400, str(exc), fmt) from exc
    principal = _principal(request, fields, fmt)
    lists = runtime.lists
    _check_jurisdiction(lists, fields.get("jurisdiction_id"), fmt)
    matter = _matter(lists, fields.get("service_code"), fmt)
    try:
        body = demand_of_form(fields, matter, lists)
    except ValueError as exc:
        raise Open311Error(400, str(exc), fmt) from exc
    try:
        demand, replayed = await accept_demand(
            runtime,
            body,
            submitted_by=principal,
            idempotency_key=idempotency_key,
            service_code=matter.code,
            media_url=media_url_of(fields.get("media_url"), fmt),
        )
    except IdempotencyConflict as exc:
        raise Open311Error(409, str(exc), fmt) from exc
    created = {"service_request_id": str(demand.id), "service_notice": SERVICE_NOTICE}
    return render(
        fmt, "service_requests", [created | {"account_id": None}], 200 if replayed else 201
    )


@dataclass(frozen=True, slots=True)
class RequestsFilter:
    """The filters of GET requests, as the query string gives them (checked in the endpoint,
    so a bad one answers in the format asked for)."""

    service_request_id: str | None
    service_code: str | None
    start_date: str | None
    end_date: str | None
    status: str | None


def _requests_filter(
    service_request_id: Annotated[str | None, Query(description="ids, comma-separated")] = None,
    service_code: Annotated[str | None, Query(description="codes, comma-separated")] = None,
    start_date: Annotated[str | None, Query(description="W3C date-time")] = None,
    end_date: Annotated[str | None, Query(description="W3C date-time")] = None,
    status: Annotated[str | None, Query(description="open, closed or open,closed")] = None,
) -> RequestsFilter:
    return RequestsFilter(service_request_id, service_code, start_date, end_date, status)


@router.get("/requests.{ext}", summary="Service requests: status, agency, expected date")
async def get_requests(
    ext: str,
    request: Request,
    runtime: RuntimeDep,
    wanted: Annotated[RequestsFilter, Depends(_requests_filter)],
    jurisdiction_id: str | None = None,
    api_key: str | None = None,
) -> Response:
    fmt = _reader(request, ext, runtime.lists, jurisdiction_id, api_key)
    lists = runtime.lists
    statuses = {s.strip() for s in (wanted.status or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, f"status must be open, closed or both: {wanted.status}", fmt)
    if wanted.service_request_id:
        # The ids name the requests: the other filters do not apply (the spec).
        ids = _ids(wanted.service_request_id, fmt)
        query = repository.OpenQuery(ids=ids[:MAX_REQUESTS])
    else:
        end = _when(wanted.end_date, "end_date", fmt) or runtime.clock.now()
        start = _when(wanted.start_date, "start_date", fmt) or end - DEFAULT_WINDOW
        if start > end:
            raise Open311Error(400, "start_date is after end_date", fmt)
        codes = [c.strip() for c in (wanted.service_code or "").split(",") if c.strip()]
        query = repository.OpenQuery(
            service_codes=codes,
            start=start,
            end=end,
            open=None if len(statuses) != 1 else statuses == {"open"},
        )
    async with runtime.sessions() as session:
        found = await repository.find_demands(session, query, limit=MAX_REQUESTS)
    return render(fmt, "service_requests", [request_of(d, lists) for d in found])


@router.get("/requests/{service_request_id}.{ext}", summary="One service request")
async def get_request(
    service_request_id: str,
    ext: str,
    request: Request,
    runtime: RuntimeDep,
    jurisdiction_id: str | None = None,
    api_key: str | None = None,
) -> Response:
    fmt = _reader(request, ext, runtime.lists, jurisdiction_id, api_key)
    not_found = Open311Error(404, f"service_request_id {service_request_id} was not found", fmt)
    try:
        demand_id = uuid.UUID(service_request_id)
    except ValueError as exc:
        raise not_found from exc
    async with runtime.sessions() as session:
        demand = await repository.get_demand(session, demand_id, with_timeline=True)
    if demand is None:
        raise not_found
    return render(fmt, "service_requests", [request_of(demand, runtime.lists)])
