"""A live stream is handed over to the hub: aiohttp keeps nothing of it (its request, parser
and tasks were most of an idle connection's memory), and the stream behaves as before:
keepalives, events, the goodbye at shutdown, a screen's leaving noticed; a WebSocket's pings,
closing handshake and broken frames answered."""

from __future__ import annotations

import asyncio
import json

from aiohttp import WSCloseCode, WSMsgType
from support.push import KEY, Staff, feed_path, open_sse
from wsproto.connection import Connection, ConnectionType
from wsproto.events import Ping, Pong

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


async def _next(ws, kind: WSMsgType):
    """The next message of this kind, past keepalive pings and events."""
    async with asyncio.timeout(5):
        while (message := await ws.receive()).type != kind:
            assert message.type in (WSMsgType.PING, WSMsgType.TEXT), message
    return message


async def _live_websocket(client, **options):
    ws = await client.ws_connect(feed_path("hall", "/ws"), params={"key": KEY}, **options)
    assert json.loads((await _next(ws, WSMsgType.TEXT)).data)["state"] == "idle"
    await _until(lambda: not client.server.runner.server.connections)  # aiohttp let it go
    return ws


async def test_a_live_websocket_is_held_by_the_hub_alone_and_answers_as_before(aiohttp_client,
                                                                             make_app):
    client = await aiohttp_client(make_app(keepalive_seconds=0.05))
    hub = client.app[HUB]
    ws = await _live_websocket(client, autoping=False)
    assert hub.connected == 1
    assert (await ws.receive(timeout=5)).type == WSMsgType.PING  # the keepalive
    await ws.pong()
    await ws.ping(b"still there?")
    assert (await _next(ws, WSMsgType.PONG)).data == b"still there?"

    alert = await Staff(client).publish_new()
    envelope = json.loads((await _next(ws, WSMsgType.TEXT)).data)
    assert envelope["type"] == "alert.published" and envelope["alert"]["id"] == alert["id"]

    await ws.close(code=4001)  # the closing handshake: the server answers with the same code
    assert ws.close_code == 4001
    await _until(lambda: hub.connected == 0)


async def test_a_websocket_is_told_to_come_back_at_a_graceful_stop(aiohttp_client, make_app):
    client = await aiohttp_client(make_app(reconnect_spread_seconds=2))
    hub = client.app[HUB]
    ws = await _live_websocket(client)
    hub.say_goodbye()
    closing = await _next(ws, WSMsgType.CLOSE)
    assert closing.data == WSCloseCode.SERVICE_RESTART
    assert closing.extra.startswith("service restart; reconnect in ")
    assert 1000 <= int(closing.extra.split()[-2]) <= 2000
    assert hub.connected == 0


async def test_a_websocket_that_sends_too_much_is_closed_with_1009(aiohttp_client, make_app):
    client = await aiohttp_client(make_app())
    hub = client.app[HUB]
    ws = await _live_websocket(client)
    await ws.send_bytes(b"x" * 5000)  # more than a screen has any reason to send
    assert (await _next(ws, WSMsgType.CLOSE)).data == WSCloseCode.MESSAGE_TOO_BIG
    await _until(lambda: hub.connected == 0)


async def test_a_websocket_that_breaks_the_protocol_is_closed_with_1002(aiohttp_client,
                                                                      make_app):
    client = await aiohttp_client(make_app())
    hub = client.app[HUB]
    ws = await _live_websocket(client)
    await ws.send_frame(b"x", WSMsgType.CONTINUATION)  # continues no message
    assert (await _next(ws, WSMsgType.CLOSE)).data == WSCloseCode.PROTOCOL_ERROR
    await _until(lambda: hub.connected == 0)


async def test_what_a_screen_sends_with_its_handshake_is_answered(client):
    """Frames that come before the stream is live (here in the same packet as the request)
    are read like any other, not left behind with aiohttp at the hand-over."""
    screen = Connection(ConnectionType.CLIENT)
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(f"GET {feed_path('hall', '/ws')}?key={KEY} HTTP/1.1\r\nHost: screen\r\n"
                 "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Key: c2NyZWVuLWtleS0wMDAwMQ==\r\n\r\n".encode()
                 + screen.send(Ping(b"early")))
    async with asyncio.timeout(5):
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 ")
        pongs: list[Pong] = []
        while not pongs:
            screen.receive_data(await reader.read(65536))
            pongs = [event for event in screen.events() if isinstance(event, Pong)]
    assert pongs[0].payload == b"early"
    writer.close()


async def test_a_request_that_is_no_websocket_handshake_gets_a_json_400(client):
    response = await client.get(feed_path("hall", "/ws"), params={"key": KEY})
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "malformed_request"
