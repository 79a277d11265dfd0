"""WebSocket: `GET /v1/feeds/{network}/{profile}/ws`, the same snapshot and envelopes as SSE.

The hub writes ready-made text frames to the connection like it does for SSE; the handler
only reads, so that pings and the closing handshake are answered. No per-message compression:
it would cost a zlib context per connection and a compression per client.
"""

from __future__ import annotations

from aiohttp import WSCloseCode, web

from feedserver.appkeys import HUB
from feedserver.push.fanout import WS
from feedserver.push.streams import join, stream_request


async def websocket(request: web.Request) -> web.WebSocketResponse:
    asked = stream_request(request)
    hub = request.app[HUB]
    with hub.admitted(asked.key_id):
        ws = web.WebSocketResponse(compress=False, max_msg_size=4096)
        await ws.prepare(request)
        client = join(request, asked, WS)
        client.farewell = lambda reason: ws.close(code=WSCloseCode.SERVICE_RESTART,
                                                  message=reason.encode())
        try:
            opening = await hub.opening(client, asked.since)
            if await hub.go_live(client, opening, request.writer.drain):
                async for _message in ws:
                    pass  # screens only listen
        finally:
            hub.leave(client)
    return ws
