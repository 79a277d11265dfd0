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
    admission = hub.admit(asked.key_id)
    try:
        ws = web.WebSocketResponse(compress=False, max_msg_size=4096)
        await ws.prepare(request)
    except BaseException:
        hub.release(admission)
        raise
    client = join(request, asked, WS, admission)
    client.farewell = lambda reason: ws.close(code=WSCloseCode.SERVICE_RESTART,
                                              message=reason.encode())
    try:
        # the opening is no local of this frame: it would stay for the stream's life
        if await hub.go_live(client, await hub.opening(client, asked.since),
                             request.writer.drain):
            async for _message in ws:
                pass  # screens only listen
    finally:
        hub.leave(client)
    return ws
