"""`format: cap` webhooks: each event delivered as a signed, schema-valid CAP message."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from support.alerts import amber_alert
from support.api import auth, publish
from support.cap import CAP, assert_valid_cap, text
from support.config import PUBLISHER, config_data

from feedserver.app import create_app
from feedserver.appkeys import CONFIG, STORE, SYNDICATION
from feedserver.config import parse_config
from feedserver.interop.capservice import cap_delivery_body

SECRET = "cms-secret-0001"


EXPECTED = [
    ("alert.published", "Alert", ["Monitor"], 0),
    ("alert.updated", "Update", ["Monitor"], 1),
    ("alert.resolved", "Update", ["AllClear"], 2),
    ("alert.published", "Alert", ["Monitor"], 0),
    ("alert.cancelled", "Cancel", [], 1),
]


async def publish_update_resolve_then_cancel(
        client, delivered: Callable[[int], Awaitable[None]] | None = None) -> None:
    """The events of EXPECTED: one alert updated and found, another published and cancelled.

    `delivered(n)`, when given, waits until n events have reached the receiver: an alert's
    end supersedes its deliveries still pending, so a receiver sees every step only if each
    arrived before the next was made."""
    async def step(count: int) -> None:
        if delivered is not None:
            await delivered(count)

    found = await publish(client, amber_alert())
    await step(1)
    response = await client.patch(f"/v1/alerts/{found['id']}", json={"message": "Update."},
                                  headers=auth(PUBLISHER))
    assert response.status == 200
    await step(2)
    response = await client.post(f"/v1/alerts/{found['id']}/resolve",
                                 json={"message": "Gevonden."}, headers=auth(PUBLISHER))
    assert response.status == 200
    withdrawn = await publish(client, amber_alert())
    await step(4)
    response = await client.post(f"/v1/alerts/{withdrawn['id']}/cancel",
                                 json={"reason": "Vergissing"}, headers=auth(PUBLISHER))
    assert response.status == 200


def summary(root) -> tuple[str, list[str], int]:
    """msgType, responseTypes and how many earlier messages a CAP message references."""
    return (text(root, "cap:msgType"), sorted({e.text for e in root.iter(CAP + "responseType")}),
            len((text(root, "cap:references") or "").split()))


async def test_publish_update_resolve_cancel_bodies(client):
    await publish_update_resolve_then_cancel(client)
    sources = client.app[SYNDICATION].sources
    network = client.app[CONFIG].current.network("net-a")
    seen = []
    for event in await client.app[STORE].events_since(0):
        body = await cap_delivery_body(sources, event, network, None)
        assert body == await cap_delivery_body(sources, event, network, None)  # retries agree
        root = assert_valid_cap(body)
        assert text(root, "cap:identifier") == \
            f"feedserver-{event.alert.id}-v{event.alert.version}"
        seen.append((event.type, *summary(root)))
    assert seen == EXPECTED


@dataclass
class Receiver:
    """A signage CMS's webhook endpoint: records what arrives."""

    requests: list[tuple[dict, bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        self.arrived.set()
        return web.Response(status=204)

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(20):
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()


async def test_a_cap_webhook_receives_signed_schema_valid_cap(aiohttp_client, aiohttp_server,
                                                              tmp_path, storage):
    receiver = Receiver()
    hook_app = web.Application()
    hook_app.router.add_post("/cap", receiver.handle)
    hook = await aiohttp_server(hook_app)
    data = {**config_data(tmp_path / "data"), "storage": storage}
    data["networks"][0]["webhook"] = {"url": str(hook.make_url("/cap")), "secret": SECRET,
                                      "format": "cap"}
    client = await aiohttp_client(create_app(parse_config(data)))

    await publish_update_resolve_then_cancel(client, receiver.wait_for)
    await receiver.wait_for(5)

    seen = []
    for headers, body in receiver.requests:
        assert headers["Content-Type"] == "application/cap+xml"
        parts = dict(part.split("=", 1) for part in headers["Feedserver-Signature"].split(","))
        expected = hmac.new(SECRET.encode(), parts["t"].encode() + b"." + body,
                            hashlib.sha256).hexdigest()
        assert hmac.compare_digest(parts["v1"], expected)
        seen.append((headers["Feedserver-Event"], *summary(assert_valid_cap(body))))
    assert seen == EXPECTED
