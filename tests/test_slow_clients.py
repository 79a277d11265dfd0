"""Slow-header and slow-body clients (README "Limits"): each is cut off after a bounded time,
and many of them do not starve the screens' polls. Raw sockets against a real server process,
since the cut-off lives in the HTTP server's protocol, below the app."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp
import pytest
from support.config import EDITOR, KEY_A, config_data
from support.servers import ServerProcess

FEED = "/v1/feeds/net-a/landscape"
HEADERS = b"GET /healthz HTTP/1.1\r\nHost: feeds.test\r\nX-Padding: " + b"a" * 200


@pytest.fixture
async def server(tmp_path: Path):
    """`feedserver serve` with one-second deadlines for headers and bodies."""
    data = {**config_data(tmp_path / "data"),
            "limits": {"header_timeout_seconds": 1, "body_timeout_seconds": 1}}
    process = ServerProcess(data, tmp_path)
    await process.start()
    yield process
    process.kill()


async def connect(server: ServerProcess) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def trickle(writer: asyncio.StreamWriter, data: bytes) -> int:
    """Send `data` a byte at a time, five a second, until the server hangs up; bytes sent."""
    sent = 0
    with contextlib.suppress(ConnectionError):
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            sent += 1
            await asyncio.sleep(0.2)
    return sent


async def hung_up(reader: asyncio.StreamReader) -> bytes:
    """Everything the server says until it closes the connection."""
    async with asyncio.timeout(30):
        with contextlib.suppress(ConnectionError):
            return await reader.read()
    return b""


async def test_a_client_sending_headers_byte_by_byte_is_cut_off(server):
    reader, writer = await connect(server)
    sending = asyncio.create_task(trickle(writer, HEADERS))
    said = await hung_up(reader)
    sent = await sending
    assert said == b"" and sent < len(HEADERS)  # closed before the headers were complete
    writer.close()


async def test_a_client_sending_its_body_byte_by_byte_gets_408_and_is_cut_off(server):
    reader, writer = await connect(server)
    body = b'{"kind": "amber", "children": [' + b" " * 400 + b"]}"
    writer.write(b"POST /v1/alerts HTTP/1.1\r\nHost: feeds.test\r\nContent-Type: "
                 b"application/json\r\nAuthorization: Bearer " + EDITOR.encode() +
                 b"\r\nContent-Length: %d\r\n\r\n" % len(body))
    sending = asyncio.create_task(trickle(writer, body))
    said = await hung_up(reader)
    sent = await sending
    assert said.startswith(b"HTTP/1.1 408 ")
    assert b'"code": "request_timeout"' in said and b"limits.body_timeout_seconds" in said
    assert sent < len(body)
    writer.close()


async def test_many_slow_clients_do_not_starve_the_polls(tmp_path):
    """300 connections trickling headers and 50 trickling bodies, held open (deadlines of a
    minute): every poll meanwhile is answered."""
    data = {**config_data(tmp_path / "data"),
            "limits": {"header_timeout_seconds": 60, "body_timeout_seconds": 60}}
    server = ServerProcess(data, tmp_path)
    await server.start()
    slow = []
    try:
        for i in range(350):
            reader, writer = await connect(server)
            if i < 300:
                writer.write(HEADERS[:20])
            else:
                writer.write(b"POST /v1/photos HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg"
                             b"\r\nAuthorization: Bearer " + EDITOR.encode() +
                             b"\r\nContent-Length: 100000\r\n\r\n\xff\xd8")
            await writer.drain()
            slow.append((reader, writer))
        async with aiohttp.ClientSession() as session:
            for _ in range(50):
                async with session.get(server.url + FEED, params={"key": KEY_A}) as response:
                    assert response.status == 200
        assert not any(reader.at_eof() for reader, _ in slow)  # all still held meanwhile
    finally:
        for _, writer in slow:
            writer.close()
        server.kill()
