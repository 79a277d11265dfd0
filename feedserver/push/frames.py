"""WebSocket for a connection the hub holds: aiohttp checks the opening handshake, wsproto
(python-hyper's sans-IO RFC 6455) reads the screen's frames and builds the answers.

A screen only listens: what it sends is read only to answer a ping with a pong and a close
with a close. wsproto passes a data message on as it arrives rather than buffering it, so
nothing is kept of one; past `MAX_MESSAGE` bytes the connection is closed (1009), as
aiohttp's `max_msg_size` did.
"""

from __future__ import annotations

from aiohttp import web
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import CloseConnection, Message, Ping
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import generate_accept_token

from feedserver.errors import bad_request

MAX_MESSAGE = 4096  # bytes a screen may send in one message (it sends pongs, maybe a close)
SERVICE_RESTART = CloseReason.SERVICE_RESTART  # the goodbye of a graceful stop


def accept_headers(request: web.Request) -> dict[str, str]:
    """The 101 answer's headers to a valid opening handshake (aiohttp's own check, without
    its WebSocketResponse, which would stay for the connection's life); else a JSON 400."""
    if not web.WebSocketResponse(compress=False).can_prepare(request).ok:
        raise bad_request("not a WebSocket opening handshake (RFC 6455 4.1: Upgrade,"
                          " Connection, Sec-WebSocket-Key and Sec-WebSocket-Version 13)")
    accept = generate_accept_token(request.headers["Sec-WebSocket-Key"].encode())
    return {"Upgrade": "websocket", "Connection": "upgrade",
            "Sec-WebSocket-Accept": accept.decode()}


class Reader:
    """The server's side of one screen's WebSocket after the handshake."""

    __slots__ = ("connection", "message_bytes")

    def __init__(self) -> None:
        self.connection = Connection(ConnectionType.SERVER)
        self.message_bytes = 0  # of the data message under way

    def answer(self, data: bytes) -> tuple[bytes, bool]:
        """What to write back for what the screen sent, and whether the connection ends once
        that is written (a close answered, or a broken or oversized frame: wsproto gives a
        frame it cannot parse as a close with its code, 1002 or 1007)."""
        connection = self.connection
        connection.receive_data(data)
        reply = b""
        for event in connection.events():
            if isinstance(event, Ping):
                reply += connection.send(event.response())
            elif isinstance(event, CloseConnection):
                return reply + self.close(event.code, event.reason), True
            elif isinstance(event, Message):
                self.message_bytes += len(event.data)
                if self.message_bytes > MAX_MESSAGE:
                    return reply + self.close(CloseReason.MESSAGE_TOO_BIG), True
                if event.message_finished:
                    self.message_bytes = 0
        return reply, False

    def close(self, code: int, reason: str | None = None) -> bytes:
        """A close frame, unless one went out already (ours is answered by nothing)."""
        connection = self.connection
        if connection.state not in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            return b""
        return connection.send(CloseConnection(code, reason))
