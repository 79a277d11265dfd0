"""Server-Sent Events: `GET /v1/feeds/{network}/{profile}/events`.

aiohttp-sse is not used: its `send()` frames and encodes every message again for every client
and it runs a ping task per connection (measured: 2.4 KB more per idle connection). Here a
message is framed once per group and the hub writes the same bytes to every connection.
Once caught up, a stream is handed over to the hub (`streams.hand_over`) and the handler
returns: an idle stream holds its transport and its `Client`, nothing of aiohttp's.
"""

from __future__ import annotations

from aiohttp import HttpVersion11, web

from feedserver.appkeys import HUB
from feedserver.push.fanout import SSE_CHUNKED, SSE_PLAIN
from feedserver.push.streams import hand_over, join, stream_request

HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx and the like must not hold events back
}


async def events(request: web.Request) -> web.StreamResponse:
    asked = stream_request(request)
    hub = request.app[HUB]
    admission = hub.admit(asked.key_id)
    try:
        response = web.StreamResponse(headers=HEADERS)
        # HTTP/1.0 (nginx's default towards upstreams) has no chunks: the stream ends at close.
        chunked = request.version >= HttpVersion11
        if chunked:
            response.enable_chunked_encoding()
        await response.prepare(request)
    except BaseException:
        hub.release(admission)
        raise
    client = join(request, asked, SSE_CHUNKED if chunked else SSE_PLAIN, admission)
    try:
        opening = await hub.opening(client, asked.since)
        live = await hub.go_live(client, opening, request.writer.drain)
    except BaseException:
        hub.leave(client)
        raise
    if live:  # else the hub has let it go
        hand_over(request, client)
    return response
