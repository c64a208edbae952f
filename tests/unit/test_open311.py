"""Open311 GeoReport v2 rendering (JSON and XML), error bodies and the form -> demand mapping."""

import json
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from contracts.events import Channel
from contracts.lists import load_lists
from services.intake.api.open311 import (
    demand_of_form,
    error_response,
    form_fields,
    render,
    request_of,
    service_definition,
    service_of,
    to_xml,
)
from services.intake.models import Demand, TimelineEntry

LISTS = load_lists()
NOISE = LISTS.matters_by_code["ENV-NOISE-LIFE"]


def _demand(note=None, **changes):
    received = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)
    fields = {
        "id": uuid.UUID("6f1c0c36-3f0e-4d57-9a55-111111111111"),
        "channel": "open311",
        "content": "楼下烧烤店噪音扰民，我的电话13812345678",
        "demand_type": None,
        "unit_code": "330502001016",
        "address": None,
        "lat": 30.87,
        "lon": 120.09,
        "citizen_name": "张三",
        "citizen_phone": "13812345678",
        "idempotency_key": None,
        "request_sha256": "0" * 64,
        "status": "assigned",
        "department_name": "吴兴区综合行政执法局",
        "received_at": received,
        "updated_at": received,
        "submitted_by": "app-wx",
        "service_code": "ENV-NOISE-LIFE",
        "expected_reply_at": datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
    }
    demand = Demand(**(fields | changes))
    demand.timeline = [
        TimelineEntry(status="received", note=None, occurred_at=received),
        TimelineEntry(status=demand.status, note=note, occurred_at=received),
    ]
    return demand


def test_a_demand_renders_as_a_georeport_request_without_personal_data():
    request = request_of(_demand(), LISTS)
    assert request["service_request_id"] == "6f1c0c36-3f0e-4d57-9a55-111111111111"
    assert request["status"] == "open"
    assert request["status_notes"] == "已派单"
    assert request["service_name"] == NOISE.name
    assert request["agency_responsible"] == "吴兴区综合行政执法局"
    # Times in the city's zone, with their offset (W3C).
    assert request["requested_datetime"] == "2026-11-26T09:30:00+08:00"
    assert request["expected_datetime"] == "2026-12-03T17:30:00+08:00"
    assert request["address"] == "月河社区居委会"  # the unit's name when no address was given
    assert request["address_id"] == "330502001016"
    assert (request["lat"], request["long"]) == (30.87, 120.09)
    text = json.dumps(request, ensure_ascii=False)
    assert "张三" not in text
    assert "13812345678" not in text  # masked in the description
    assert "138****5678" in request["description"]


def test_closed_demands_are_closed_with_the_last_note():
    request = request_of(_demand(status="closed", note="市民评价：满意"), LISTS)
    assert request["status"] == "closed"
    assert request["status_notes"] == "已办结：市民评价：满意"


def test_xml_has_the_specs_root_and_item_elements_and_empty_elements_for_none():
    document = to_xml("service_requests", [request_of(_demand(expected_reply_at=None), LISTS)])
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(document)
    assert root.tag == "service_requests"
    [item] = root
    assert item.tag == "request"
    assert item.findtext("agency_responsible") == "吴兴区综合行政执法局"
    assert item.findtext("status") == "open"
    assert item.find("expected_datetime") is not None
    assert item.findtext("expected_datetime") == ""
    assert item.findtext("long") == "120.09"


def test_services_and_a_service_definition_in_both_formats():
    services = [service_of(m) for m in LISTS.matters]
    assert len(services) == len(LISTS.matters)
    noise = next(s for s in services if s["service_code"] == "ENV-NOISE-LIFE")
    assert noise["metadata"] is True
    assert noise["type"] == "realtime"
    assert noise["group"] == NOISE.category
    root = ET.fromstring(to_xml("services", services))
    assert [e.tag for e in root][:1] == ["service"]
    assert root[0].findtext("metadata") in {"true", "false"}

    definition = service_definition(NOISE)
    [attribute] = definition["attributes"]
    assert attribute["code"] == "demand_type"
    assert [v["key"] for v in attribute["values"]] == [t.value for t in NOISE.demand_types]
    xml = ET.fromstring(to_xml("service_definition", definition))
    assert xml.findtext("service_code") == "ENV-NOISE-LIFE"
    values = xml.findall("attributes/attribute/values/value")
    assert [v.findtext("key") for v in values] == [t.value for t in NOISE.demand_types]
    assert xml.findtext("attributes/attribute/required") == "false"


def test_error_bodies_follow_the_spec_in_json_and_xml():
    response = error_response(400, "service_code was not provided", "json")
    assert response.status_code == 400
    assert json.loads(bytes(response.body)) == [
        {"code": 400, "description": "service_code was not provided"}
    ]
    response = error_response(403, "api_key is not valid", "xml")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(bytes(response.body))
    assert root.tag == "errors"
    assert root.findtext("error/code") == "403"
    assert root.findtext("error/description") == "api_key is not valid"


def test_render_json_is_a_list_for_lists():
    response = render("json", "service_requests", [{"service_request_id": "x"}], 201)
    assert response.status_code == 201
    assert json.loads(bytes(response.body)) == [{"service_request_id": "x"}]


def test_a_form_becomes_the_demand_of_post_v1_demands():
    fields = form_fields(
        {"api_key": "ld_x"},
        b"service_code=ENV-NOISE-LIFE&description=%E6%A5%BC%E4%B8%8B%E7%83%A7%E7%83%A4%E5%BA%97"
        b"%E5%99%AA%E9%9F%B3%E6%89%B0%E6%B0%91&address_id=330502001016&first_name=%E4%B8%89"
        b"&last_name=%E5%BC%A0&phone=13812345678&email=a%40b.cn&attribute%5Bdemand_type%5D=complaint",
        "application/x-www-form-urlencoded; charset=utf-8",
    )
    assert fields["api_key"] == "ld_x"
    demand = demand_of_form(fields, NOISE, LISTS)
    assert demand.channel is Channel.open311
    assert demand.content == "楼下烧烤店噪音扰民"
    assert demand.location.unit_code == "330502001016"
    assert demand.citizen.name == "张三"  # family name first
    assert demand.citizen.phone == "13812345678"
    assert demand.demand_type is not None
    assert demand.demand_type.value == "complaint"
    western = demand_of_form(
        {
            "description": "Streetlight is out",
            "lat": "30.8",
            "long": "120.1",
            "first_name": "Ann",
            "last_name": "Lee",
        },
        NOISE,
        LISTS,
    )
    assert western.citizen.name == "Ann Lee"
    assert (western.location.lat, western.location.lon) == (30.8, 120.1)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"description": "楼下烧烤店噪音扰民"}, "a location is required"),
        ({"description": "楼下烧烤店噪音扰民", "address_id": "330599999999"}, "address_id"),
        ({"description": "楼下烧烤店噪音扰民", "lat": "30.8"}, "lat and long come together"),
        ({"description": "楼下烧烤店噪音扰民", "lat": "north", "long": "1"}, "lat:"),
        ({"description": "短", "address_string": "吴兴区月河街道"}, "description:"),
        ({"address_string": "吴兴区月河街道"}, "description:"),
        ({"description": "楼下烧烤店噪音扰民", "address_string": "月河", "phone": "abc"}, "phone:"),
        (
            {
                "description": "楼下烧烤店噪音扰民",
                "address_string": "月河",
                "attribute[demand_type]": "x",
            },
            "attribute[demand_type] must be one of",
        ),
    ],
)
def test_bad_forms_say_which_field_is_wrong(fields, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        demand_of_form(fields, NOISE, LISTS)


def test_only_form_encoded_utf8_bodies_are_read():
    with pytest.raises(ValueError, match="form-encoded"):
        form_fields({}, b'{"service_code": "x"}', "application/json")
    with pytest.raises(ValueError, match="UTF-8"):
        form_fields({}, "description=噪音".encode("gbk"), "application/x-www-form-urlencoded")
