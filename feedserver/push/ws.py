"""WebSocket: `GET /v1/feeds/{network}/{profile}/ws`, the same snapshot and envelopes as SSE.

The hub writes ready-made text frames to the connection like it does for SSE. aiohttp checks
the opening handshake; the 101 is a plain response rather than a WebSocketResponse, whose
reader, writer and the request's tasks (about 14 KB) would stay for the stream's life. From the
101 on, what the screen sends goes to its `Client` (pings and the closing handshake are
answered there with wsproto, `frames`), and once caught up the connection is handed over to
the hub like an SSE stream (`streams.hand_over`). No per-message compression: it would cost
a zlib context per connection and a compression per client.
"""

from __future__ import annotations

from aiohttp import web

from feedserver.push import frames
from feedserver.push.fanout import WS, Client
from feedserver.push.streams import admitted, go_live, join, stream_request


class _ToClient:
    """Stands in for aiohttp's WebSocket reader until the hand-over (`set_parser`): what the
    screen sends meanwhile, and what aiohttp read past the handshake, go to its client."""

    __slots__ = ("client",)

    def __init__(self, client: Client) -> None:
        self.client = client

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.client.data_received(data)
        return False, b""

    def feed_eof(self) -> None:
        """The hand-over, or a connection lost while catching up, which the catch-up sees."""


async def websocket(request: web.Request) -> web.StreamResponse:
    asked = stream_request(request)
    response = web.StreamResponse(status=101, headers=frames.accept_headers(request))
    admission = await admitted(request, asked, response)
    client = join(request, asked, WS, admission)
    request.protocol.set_parser(_ToClient(client))  # type: ignore[arg-type]
    await go_live(request, client, asked.since)
    return response
