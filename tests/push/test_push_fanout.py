"""Fan-out never waits for the slowest: a client that does not read is dropped, others go on."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from support.push import KEY, Staff, feed_path, open_sse

from feedserver.appkeys import HUB


async def _until(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def _stalled_client(client) -> socket.socket:
    """A screen that connects, asks for the stream and then never reads a byte."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    await loop.sock_connect(sock, (client.host, client.port))
    request = (f"GET {feed_path('hall', '/events')}?key={KEY} HTTP/1.1\r\n"
               f"Host: {client.host}\r\n\r\n")
    await loop.sock_sendall(sock, request.encode())
    return sock


async def test_a_client_that_never_reads_is_dropped_while_others_keep_receiving(
        aiohttp_client, make_app):
    client = await aiohttp_client(make_app(queue_limit=4, send_buffer_bytes=4096))
    staff = Staff(client)
    hub = client.app[HUB]
    healthy = await open_sse(client)
    await healthy.next()
    stalled = await _stalled_client(client)
    await _until(lambda: hub.connected == 2)

    received: list[int] = []

    async def read_all() -> None:
        while True:
            seq, _, _ = await healthy.next(timeout=60)
            received.append(seq)

    reader = asyncio.create_task(read_all())
    alert = await staff.publish_new()
    sent = [alert]
    while hub.dropped == 0 and len(sent) < 3000:
        sent.append(await staff.update(alert["id"], message={"nl": f"Tip nummer {len(sent)}"}))

    assert hub.dropped == 1 and hub.connected == 1
    await _until(lambda: len(received) == len(sent))
    assert received == list(range(received[0], received[0] + len(sent)))
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader

    loop = asyncio.get_running_loop()
    with contextlib.suppress(ConnectionResetError):
        async with asyncio.timeout(5):
            while await loop.sock_recv(stalled, 65536):
                pass
    stalled.close()


async def test_a_long_catch_up_is_sent_whole_even_past_the_buffer_limit(aiohttp_client,
                                                                        make_app):
    client = await aiohttp_client(make_app(send_buffer_bytes=4096))
    staff = Staff(client)
    alert = await staff.publish_new()
    for i in range(60):  # about 36 KB of envelopes, nine times the buffer limit
        await staff.update(alert["id"], message={"nl": f"Tip nummer {i}"})
    stream = await open_sse(client, since="1")
    seqs = [(await stream.next())[0] for _ in range(60)]
    assert seqs == list(range(2, 62))
    assert client.app[HUB].dropped == 0
