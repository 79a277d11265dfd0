"""Server-Sent Events: `GET /v1/feeds/{network}/{profile}/events`.

aiohttp-sse is not used: its `send()` frames and encodes every message again for every client
and it runs a ping task per connection (measured: 2.4 KB more per idle connection). Here a
frame is built once per group and written as shared bytes, and one hub timer sends keepalives.
"""

from __future__ import annotations

from aiohttp import web

from feedserver.appkeys import HUB
from feedserver.push.fanout import SSE, ClientGone
from feedserver.push.streams import stream_request

HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx and the like must not hold events back
}


async def events(request: web.Request) -> web.StreamResponse:
    asked = stream_request(request)
    hub = request.app[HUB]
    response = web.StreamResponse(headers=HEADERS)
    await response.prepare(request)
    client = hub.join(asked.network, asked.profile, asked.region, asked.screen,
                      request.transport)
    try:
        batch = await hub.opening(client, asked.since)
        while True:
            await response.write(b"".join(message.frames[SSE] for message in batch))
            hub.delivered(client, batch)
            batch = await client.take()
    except (ClientGone, ConnectionError):
        pass
    finally:
        hub.leave(client)
    return response
