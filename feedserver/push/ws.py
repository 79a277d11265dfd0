"""WebSocket: `GET /v1/feeds/{network}/{profile}/ws`, the same snapshot and envelopes as SSE.

Screens only listen; the handler reads so that pings and the closing handshake are answered,
while a writer task drains the client's mailbox. No per-message compression: it would cost a
zlib context per connection and a compression per client for bytes that are built once.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSMsgType, web

from feedserver.appkeys import HUB
from feedserver.push.fanout import KEEPALIVE, WS, Client, ClientGone, Hub, Outgoing
from feedserver.push.streams import stream_request


async def _write(ws: web.WebSocketResponse, hub: Hub, client: Client,
                 batch: list[Outgoing]) -> None:
    try:
        while True:
            for message in batch:
                if message is KEEPALIVE:
                    await ws.ping()
                else:
                    await ws.send_frame(message.frames[WS], WSMsgType.TEXT)
            hub.delivered(client, batch)
            batch = await client.take()
    except (ClientGone, ConnectionError):
        client.drop()


async def websocket(request: web.Request) -> web.WebSocketResponse:
    asked = stream_request(request)
    hub = request.app[HUB]
    ws = web.WebSocketResponse(compress=False, max_msg_size=4096)
    await ws.prepare(request)
    client = hub.join(asked.network, asked.profile, asked.region, asked.screen,
                      request.transport)
    writer = asyncio.create_task(_write(ws, hub, client, await hub.opening(client, asked.since)))
    try:
        async for _message in ws:
            pass
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        hub.leave(client)
    return ws
