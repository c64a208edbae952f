"""Calls to the four services' HTTP APIs, each with the signed-in user's own credential (or the
citizen's tracking token), and their refusals as messages a page can show."""

from __future__ import annotations

import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.console.settings import ConsoleSettings
from services.console.translations import said


@dataclass
class ServiceRefused(Exception):
    """A service's 4xx (or an outage), said so that a page can show it: the status, its message
    and the fields it named."""

    status: int
    message: str
    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


# The time each call to a service took during the page being served, for its Server-Timing
# header (the console's middleware sets a fresh list per request).
CALL_TIMES: ContextVar[list[tuple[str, float]] | None] = ContextVar("call_times", default=None)


# The services answer in English; the pages say what happened in Chinese and keep the
# service's own words after it, so nothing the service said is lost.
_STATUS_TEXT = {
    400: "请求有误",
    401: "登录已失效，请重新登录",
    403: "无权进行此操作",
    404: "未找到，或无权查看",
    409: "当前状态不允许此操作",
    413: "提交的内容过长",
    422: "提交的内容有误",
    503: "服务暂时不可用，请稍后重试",
}


def _refusal(response: httpx.Response) -> ServiceRefused:
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    fields: dict[str, str] = {}
    for error in (body.get("errors") or []) if isinstance(body, dict) else []:
        if isinstance(error, dict):
            name = str(error.get("field", "")).removeprefix("body.").removeprefix("query.")
            fields[name] = said(str(error.get("reason", "")))
    if isinstance(detail, list):  # FastAPI's own validation shape
        for error in detail:
            if isinstance(error, dict):
                loc = [str(p) for p in error.get("loc", []) if p not in ("body", "query")]
                fields[".".join(loc)] = str(error.get("msg", ""))
        detail = None
    prefix = _STATUS_TEXT.get(response.status_code, f"服务返回 {response.status_code}")
    message = f"{prefix}：{said(detail)}" if isinstance(detail, str) and detail else prefix
    return ServiceRefused(response.status_code, message, fields)


class Services:
    """One HTTP client for the four services; every call names whose credential it carries."""

    def __init__(
        self, settings: ConsoleSettings, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.settings = settings
        self._client = httpx.AsyncClient(timeout=settings.request_timeout_s, transport=transport)
        self._base = {
            "intake": settings.intake_url.rstrip("/"),
            "classification": settings.classification_url.rstrip("/"),
            "routing": settings.routing_url.rstrip("/"),
            "feedback": settings.feedback_url.rstrip("/"),
        }

    async def close(self) -> None:
        await self._client.aclose()

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """The service's JSON answer; raises ServiceRefused on a 4xx or 5xx, or when the
        service cannot be reached."""
        url = self._base[service] + path
        started = time.perf_counter()
        try:
            response = await self._client.request(
                method, url, headers=headers, params=params, json=json
            )
        except httpx.HTTPError as exc:
            raise ServiceRefused(503, f"无法连接{SERVICE_NAMES[service]}服务，请稍后重试") from exc
        finally:
            times = CALL_TIMES.get()
            if times is not None:
                times.append((service, (time.perf_counter() - started) * 1000))
        if response.status_code >= 400:
            raise _refusal(response)
        return response.json() if response.content else None

    # --- citizens (the tracking token is the credential) ---

    async def track(self, demand_id: uuid.UUID, token: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(
            "intake", "GET", f"/v1/demands/{demand_id}", params={"token": token}
        )
        return result

    async def evaluate(self, demand_id: uuid.UUID, token: str, body: dict[str, Any]) -> Any:
        return await self.call(
            "feedback",
            "POST",
            f"/v1/demands/{demand_id}/evaluation",
            params={"token": token},
            json=body,
        )


SERVICE_NAMES = {"intake": "受理", "classification": "分类", "routing": "派单", "feedback": "回访"}
