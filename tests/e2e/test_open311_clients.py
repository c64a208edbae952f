"""Open311 as its clients use it, on every service as its own process: the `georeport` client
from PyPI reads services and requests with no key, in JSON and XML; a request keeps its photo
link (media_url); tokens/{token} names the request; every error under /open311/, an unknown
path and a malformed parameter included, comes in the spec's format."""

import asyncio
import xml.etree.ElementTree as ET

import httpx
import pytest
from georeport import GeoReport

from tests.e2e.test_open311 import FORM

PHOTO = "https://img.example.cn/12345/2026/12/noise-0001.jpg"


@pytest.fixture
def open311(services):
    return f"{services.urls['intake']}/open311/v2", services.app_key


async def _posted(client, base, app_key, **extra):
    response = await client.post(f"{base}/requests.json", data=FORM | {"api_key": app_key} | extra)
    assert response.status_code == 201, response.text
    return response.json()[0]["service_request_id"]


async def test_the_georeport_client_reads_without_a_key(open311):
    base, app_key = open311
    async with httpx.AsyncClient(timeout=10) as client:
        request_id = await _posted(client, base, app_key, media_url=PHOTO)
    for fmt in ("json", "xml"):
        reader = GeoReport(base, jurisdiction="330500000000", output_format=fmt)
        services = await asyncio.to_thread(reader.get_service_list)
        assert "ENV-NOISE-LIFE" in [s["service_code"] for s in services]
        definition = await asyncio.to_thread(reader.get_service_definition, "ENV-NOISE-LIFE")
        assert definition["service_code"] == "ENV-NOISE-LIFE"
        one = await asyncio.to_thread(reader.get_service_request, request_id)
        assert one["service_request_id"] == request_id
        assert one["media_url"] == PHOTO
        assert one["service_code"] == "ENV-NOISE-LIFE"
        listed = await asyncio.to_thread(reader.get_service_requests, service_request_id=request_id)
        listed = listed if isinstance(listed, list) else [listed]  # XML: one request, no list
        assert [r["service_request_id"] for r in listed] == [request_id]
        # No personal data for a public reader: not the name, the phone or the e-mail.
        text = str(one) + str(listed)
        assert "13812345678" not in text
        assert "zhangsan@example.cn" not in text
        assert "张" not in str(one.get("first_name", "")) + str(one.get("last_name", ""))


async def test_tokens_name_the_request_and_every_error_has_the_spec_format(open311):
    base, app_key = open311
    async with httpx.AsyncClient(timeout=10) as client:
        request_id = await _posted(client, base, app_key)
        token = await client.get(f"{base}/tokens/{request_id}.json")
        assert token.status_code == 200, token.text
        assert token.json() == [{"service_request_id": request_id, "token": request_id}]
        xml = await client.get(f"{base}/tokens/{request_id}.xml")
        assert ET.fromstring(xml.content).findtext("request/service_request_id") == request_id

        async def error(response, code, text, fmt="json"):
            assert response.status_code == code, response.text
            if fmt == "xml":
                root = ET.fromstring(response.content)
                assert root.tag == "errors"
                assert root.findtext("error/code") == str(code)
                assert text in (root.findtext("error/description") or "")
                return
            [body] = response.json()
            assert body["code"] == code
            assert text in body["description"]

        await error(await client.get(f"{base}/tokens/not-a-token.json"), 404, "not-a-token")
        await error(await client.get(f"{base}/no-such-thing.json"), 404, "Not Found")
        await error(await client.get(f"{base}/no-such-thing.xml"), 404, "Not Found", "xml")
        await error(await client.delete(f"{base}/requests.json"), 405, "Method Not Allowed")
        bad_photo = await client.post(
            f"{base}/requests.json", data=FORM | {"api_key": app_key, "media_url": "file:///x"}
        )
        await error(bad_photo, 400, "media_url")
        # Outside /open311/ the service's own error format is unchanged.
        other = await client.get(base.replace("/open311/v2", "/v1/no-such-thing"))
        assert other.status_code == 404
        assert isinstance(other.json(), dict)
