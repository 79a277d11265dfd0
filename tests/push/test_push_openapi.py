"""The push endpoints' real answers match openapi.yaml (the stream bodies are tested elsewhere)."""

from __future__ import annotations

import asyncio

import yaml
from aiohttp import web
from support.openapi import SPEC_PATH, CheckedClient
from support.push import ADMIN, KEY, NETWORK, OTHER_KEY, PUBLISHER, Staff, feed_path


async def test_push_answers_match_the_spec(aiohttp_client, aiohttp_server, make_app):
    received = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.set()
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    server = await aiohttp_server(receiver)
    client = await aiohttp_client(make_app(webhook_url=str(server.make_url("/hook"))))
    api = CheckedClient(client, yaml.safe_load(SPEC_PATH.read_text()))
    await Staff(client).publish_new()
    await asyncio.wait_for(received.wait(), 10)

    admin = {"Authorization": f"Bearer {ADMIN}"}
    deliveries = f"/v1/networks/{NETWORK}/deliveries"
    await api.call("GET", deliveries, expect=200, headers=admin)
    await api.call("GET", deliveries, expect=200, headers=admin, params={"state": "pending"})
    await api.call("GET", deliveries, expect=400, headers=admin, params={"limit": "0"})
    await api.call("GET", deliveries, expect=401)
    await api.call("GET", deliveries, expect=403,
                   headers={"Authorization": f"Bearer {PUBLISHER}"})
    await api.call("GET", "/v1/networks/nowhere/deliveries", expect=404, headers=admin)
    await api.call("GET", feed_path("hall", "/player"), expect=200, params={"key": KEY})
    await api.call("GET", feed_path("hall", "/player"), expect=400,
                   params={"key": KEY, "rotate": "0"})
    for tail in ("/events", "/ws", "/player"):
        await api.call("GET", feed_path("hall", tail), expect=401)
        await api.call("GET", feed_path("hall", tail), expect=403, params={"key": OTHER_KEY})
        await api.call("GET", feed_path("nowhere", tail), expect=404, params={"key": KEY})
    await api.call("GET", feed_path("hall", "/events"), expect=400,
                   params={"key": KEY, "since": "-1"})
