"""A live SSE stream is handed over to the hub: aiohttp keeps nothing of it (its request,
parser and tasks were most of an idle connection's memory), and the stream behaves as before:
keepalives, events, the goodbye at shutdown, and a screen's leaving noticed."""

from __future__ import annotations

import asyncio

from support.push import KEY, Staff, feed_path, open_sse

from feedserver.appkeys import HUB


async def _until(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_live_stream_is_held_by_the_hub_alone_and_still_hears_everything(
        aiohttp_client, make_app):
    client = await aiohttp_client(make_app(keepalive_seconds=0.05))
    hub = client.app[HUB]
    sse = await open_sse(client)
    assert (await sse.next())[1] == "snapshot"
    await _until(lambda: not client.server.runner.server.connections)
    assert hub.connected == 1

    async with asyncio.timeout(5):
        while not (await sse.response.content.readline()).startswith(b": keepalive"):
            pass
    alert = await Staff(client).publish_new()
    _, kind, data = await sse.next()
    assert kind == "alert.published" and data["alert"]["id"] == alert["id"]

    hub.say_goodbye()  # as at a graceful stop: `retry:`, then the stream's proper end
    rest = await asyncio.wait_for(sse.response.content.read(), 5)
    assert rest.startswith(b"retry: ") and rest.endswith(b"\n\n")
    assert sse.response.content.at_eof() and hub.connected == 0


async def test_a_screen_that_goes_is_let_go_at_once_and_frees_its_stream(aiohttp_client,
                                                                          make_app):
    # keepalives far apart: the server does not learn of the screen's leaving from a failed one
    client = await aiohttp_client(make_app(keepalive_seconds=600,
                                           limits={"streams_per_key": 1}))
    hub = client.app[HUB]
    first = await open_sse(client)
    await first.next()
    refused = await client.get(feed_path("hall", "/events"), params={"key": KEY})
    assert refused.status == 429
    first.response.close()
    await _until(lambda: hub.connected == 0)
    again = await open_sse(client)
    assert (await again.next())[1] == "snapshot"
    again.response.close()
