"""The push tests' world: their config (one network with a webhook), staff calls, an SSE reader."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from feedserver.timeutil import format_time, utcnow

NETWORK = "metro"
KEY = "metro-key-0001"
OTHER_KEY = "other-key-0001"
PUBLISHER = "publisher-token"
ADMIN = "admin-token-0001"
HOOK_SECRET = "hook-secret-0001"


def push_config_data(tmp_path, webhook_url: str | None = None, alerts: dict | None = None,
                public_url: str = "http://127.0.0.1:8080") -> dict:
    metro = {
        "id": NETWORK, "name": "Metro screens", "keys": [KEY],
        "profiles": [
            {"id": "hall", "size": "1920x1080", "languages": ["nl", "en"]},
            {"id": "amber-only", "size": "1400x400", "kinds": ["amber"]},
            {"id": "utrecht", "size": "800x600", "regions": ["NL-UT"]},
        ],
    }
    if webhook_url:
        metro["webhook"] = {"url": webhook_url, "secret": HOOK_SECRET, "format": "json"}
    return {
        "server": {"data_dir": str(tmp_path / "data"), "public_url": public_url},
        "alerts": alerts or {},
        "staff": [{"name": "test-publisher", "role": "publisher", "token": PUBLISHER},
                  {"name": "test-admin", "role": "admin", "token": ADMIN}],
        "networks": [metro, {"id": "other", "name": "Other", "keys": [OTHER_KEY],
                             "profiles": [{"id": "atm", "size": "800x600"}]}],
    }


def alert_body(name: str = "Testkind Een", **fields) -> dict:
    return {
        "kind": "missing_child", "circumstance": "unknown", "regions": ["NL"],
        "languages": ["nl", "en"],
        "children": [{"name": name, "age": 8, "description": {"nl": "rode jas", "en": "red coat"}}],
        "last_seen": {"place": "Utrecht, Vredenburg", "at": format_time(utcnow())},
        **fields,
    }


class Staff:
    """The staff API as a publisher uses it."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {PUBLISHER}"}

    async def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        response = await self.client.request(method, path, json=body, headers=self.headers)
        assert response.status < 300, await response.text()
        return await response.json()

    async def publish_new(self, name: str = "Testkind Een", **fields) -> dict:
        alert = await self._call("POST", "/v1/alerts", alert_body(name, **fields))
        return await self._call("POST", f"/v1/alerts/{alert['id']}/publish")

    async def update(self, alert_id: str, **fields) -> dict:
        return await self._call("PATCH", f"/v1/alerts/{alert_id}", fields)

    async def cancel(self, alert_id: str) -> dict:
        return await self._call("POST", f"/v1/alerts/{alert_id}/cancel",
                                {"reason": "ingetrokken"})

    async def resolve(self, alert_id: str) -> dict:
        return await self._call("POST", f"/v1/alerts/{alert_id}/resolve",
                                {"message": {"nl": "Gevonden, dank u", "en": "Found, thank you"}})


def soon(seconds: int) -> str:
    return format_time(utcnow() + timedelta(seconds=seconds))


def feed_path(profile: str = "hall", tail: str = "") -> str:
    return f"/v1/feeds/{NETWORK}/{profile}{tail}"


class SseReader:
    """Reads Server-Sent Events off a live response: (id, event, data) per message."""

    def __init__(self, response: ClientResponse) -> None:
        self.response = response
        self.comments: list[str] = []

    async def next(self, timeout: float = 5.0) -> tuple[int | None, str, dict]:
        async with asyncio.timeout(timeout):
            fields: dict[str, str] = {}
            while True:
                line = (await self.response.content.readline()).decode()
                if not line:
                    raise ConnectionError("stream ended")
                line = line.rstrip("\r\n")
                if line.startswith(":"):
                    self.comments.append(line)
                elif line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                elif "data" in fields:
                    seq = int(fields["id"]) if "id" in fields else None
                    return seq, fields.get("event", "message"), json.loads(fields["data"])


async def open_sse(client: TestClient, profile: str = "hall", *, headers: dict | None = None,
                   **query: str) -> SseReader:
    response = await client.get(feed_path(profile, "/events"), params={"key": KEY, **query},
                                headers=headers or {})
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return SseReader(response)
