"""Server-Sent Events: `GET /v1/feeds/{network}/{profile}/events`.

aiohttp-sse is not used: its `send()` frames and encodes every message again for every client
and it runs a ping task per connection (measured: 2.4 KB more per idle connection). Here a
message is framed once per group and the hub writes the same bytes to every connection.
Once caught up, a stream is handed over to the hub (`streams.hand_over`) and the handler
returns: an idle stream holds its transport and its `Client`, nothing of aiohttp's.
"""

from __future__ import annotations

from aiohttp import HttpVersion11, web

from feedserver.push.fanout import SSE_CHUNKED, SSE_PLAIN
from feedserver.push.streams import admitted, go_live, join, stream_request

HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx and the like must not hold events back
}


async def events(request: web.Request) -> web.StreamResponse:
    asked = stream_request(request)
    response = web.StreamResponse(headers=HEADERS)
    # HTTP/1.0 (nginx's default towards upstreams) has no chunks: the stream ends at close.
    chunked = request.version >= HttpVersion11
    if chunked:
        response.enable_chunked_encoding()
    admission = await admitted(request, asked, response)
    client = join(request, asked, SSE_CHUNKED if chunked else SSE_PLAIN, admission)
    await go_live(request, client, asked.since)
    return response
