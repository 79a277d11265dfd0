"""A screen that reconnects far back (`since=0`) is caught up without blocking the server and
without more unsent bytes than `push.send_buffer_bytes` waiting for it: a slow reader gets
its replay as fast as it reads, and every other screen is served meanwhile."""

from __future__ import annotations

import asyncio
import socket

from aiohttp.test_utils import TestServer
from support.push import KEY, Staff, feed_path, soon

from feedserver.appkeys import HUB

LIMIT = 16 * 1024
EVENTS = 150


def unsent_bytes(server: TestServer) -> int:
    """What the server holds unsent for its connections, beyond what the kernel took."""
    return max((handler.transport.get_write_buffer_size()
                for handler in server.runner.server.connections if handler.transport),
               default=0)


async def test_a_slow_reader_far_behind_is_caught_up_within_its_buffer(aiohttp_client,
                                                                        make_app):
    client = await aiohttp_client(TestServer(make_app(send_buffer_bytes=LIMIT)))
    staff = Staff(client)
    alert = await staff.publish_new()
    for i in range(EVENTS - 1):
        await staff.update(alert["id"], expires_at=soon(3600 + i))

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", client.server.port))
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
    writer.write(f"GET {feed_path('hall', '/events')}?key={KEY}&since=0 HTTP/1.1\r\n"
                 "Host: feeds.test\r\n\r\n".encode())
    hub = client.app[HUB]
    async with asyncio.timeout(20):
        while hub.connected == 0 or unsent_bytes(client.server) == 0:
            await asyncio.sleep(0.01)

    # the reader reads nothing yet: the server is not stuck, and holds at most its limit
    polled = await client.get(feed_path("hall"), params={"key": KEY})
    assert polled.status == 200
    most = unsent_bytes(client.server)
    ids: list[int] = []
    async with asyncio.timeout(60):
        while len(ids) < EVENTS:
            line = await reader.readline()
            if line.startswith(b"id: "):
                ids.append(int(line[4:]))
            most = max(most, unsent_bytes(client.server))
            await asyncio.sleep(0)
    assert ids == sorted(ids) and len(set(ids)) == EVENTS  # every event once, in order
    assert most <= LIMIT + 4096  # the limit, and at most one message past it

    # caught up, the stream is live
    await staff.update(alert["id"], expires_at=soon(7200))
    async with asyncio.timeout(10):
        while not (line := await reader.readline()).startswith(b"id: "):
            pass
    assert int(line[4:]) > ids[-1]
    writer.close()
