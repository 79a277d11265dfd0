"""Helpers for tests with several real server processes: which process serves a connection.

Workers share one port (SO_REUSEPORT) and the kernel picks one per connection, so a test that
needs "publish through one worker, listen on another" looks the connection up in /proc: the
server side of a TCP connection is a socket inode, held open by exactly one process.
"""

from __future__ import annotations

import asyncio
import json
import os
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
from aiohttp import web

from support.api import auth
from support.config import PUBLISHER
from support.push import SseReader
from support.servers import free_port

LISTEN, ESTABLISHED = "0A", "01"


def _tcp_rows() -> list[tuple[int, int, str, str]]:
    """(local port, remote port, state, inode) of every IPv4 TCP socket."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        rows.append((int(local.split(":")[1], 16), int(remote.split(":")[1], 16), state, inode))
    return rows


def listeners(port: int) -> int:
    """How many sockets listen on `port` (one per worker)."""
    return sum(1 for local, _, state, _ in _tcp_rows() if local == port and state == LISTEN)


async def wait_for_listeners(port: int, count: int, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while listeners(port) < count:
            await asyncio.sleep(0.1)


def serving_pid(server_port: int, client_port: int) -> int:
    """The pid of the process holding the server side of the connection from `client_port`."""
    return socket_owner(server_port, client_port)


def socket_owner(local_port: int, remote_port: int) -> int:
    """The pid of the process holding the local end of a connection between these ports."""
    inodes = {inode for local, remote, state, inode in _tcp_rows()
              if local == local_port and remote == remote_port and state == ESTABLISHED}
    targets = {f"socket:[{inode}]" for inode in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in targets:
                    return int(pid)
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    raise LookupError(f"no process holds the connection {local_port} -> {remote_port}")


class Pinned:
    """A client session whose one kept-alive connection (from a port of its own) is served by
    a known worker."""

    def __init__(self, session: aiohttp.ClientSession, local_port: int, server_port: int,
                 pid: int) -> None:
        self.session = session
        self.local_port = local_port
        self.server_port = server_port
        self.pid = pid

    def check(self) -> None:
        """The connection still goes to the same worker (aiohttp did not reconnect elsewhere)."""
        assert serving_pid(self.server_port, self.local_port) == self.pid


async def pinned_session(stack: AsyncExitStack, url: str, port: int) -> Pinned:
    local_port = free_port()
    session = await stack.enter_async_context(aiohttp.ClientSession(
        url, connector=aiohttp.TCPConnector(limit=1, local_addr=("127.0.0.1", local_port))))
    async with session.get("/healthz") as response:
        await response.read()
        pid = serving_pid(port, local_port)
    return Pinned(session, local_port, port, pid)


async def sessions_on_two_workers(stack: AsyncExitStack, url: str,
                                  port: int) -> tuple[Pinned, Pinned]:
    """Two sessions served by different workers (new connections until the kernel obliges)."""
    first = await pinned_session(stack, url, port)
    for _ in range(200):
        other = await pinned_session(stack, url, port)
        if other.pid != first.pid:
            return first, other
    raise AssertionError("every connection went to one worker")


async def open_stream(pinned: Pinned, path: str, key: str) -> SseReader:
    response = await pinned.session.get(path, params={"key": key})
    assert response.status == 200, await response.text()
    pinned.check()
    return SseReader(response)


class NationalList:
    """The national JSON list served to the pollers; records which process (pid) fetched it
    each time, so a test sees which one polls."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.pollers: list[int] = []
        self.port = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        peer_port = request.transport.get_extra_info("peername")[1]
        self.pollers.append(socket_owner(peer_port, self.port))
        return web.Response(body=json.dumps(self.entries).encode(),
                            content_type="application/json")


def national_entry(alert_id: str, child: str) -> dict:
    """An AMBER entry of the national list about an invented child."""
    return {
        "AlertId": alert_id, "MessageId": "1", "Sender": "Politie", "Sent": "1764338400",
        "State": "Actual", "Type": "Alert", "Scope": "Public", "AlertLevel": "10",
        "Location": None,
        "Message": {"Title": f"{child} (8)", "Description": f"{child} is ontvoerd.",
                    "DescriptionExt": "Ontvoerd", "Readmore_URL": "https://www.amberalert.nl/",
                    "Media_URL": None, "Media": {"Image": None, "SmallImage": None}},
        "Area": {"Description": "Nederland", "Circle": None, "CircleKM": None},
    }


async def publish_over(session: aiohttp.ClientSession, alert: dict) -> dict:
    """Create and publish `alert` through a real server process; the published alert."""
    async with session.post("/v1/alerts", json=alert, headers=auth(PUBLISHER)) as response:
        draft = await response.json()
    async with session.post(f"/v1/alerts/{draft['id']}/publish",
                            headers=auth(PUBLISHER)) as response:
        assert response.status == 200
        return await response.json()
