"""A swarm of idle SSE clients in its own process, driven over stdin/stdout (JSON lines).

Run as `python -m bench.swarm --url URL [--ready-token TEXT] [--source ADDR]`. Each client is
a raw asyncio protocol on one socket (a few hundred bytes of state, so the swarm measures the
server, not itself). A client counts as connected once it has a 200 and, if given, has seen
the ready token (feedserver's `snapshot` event). Commands, one JSON object a line:

    {"cmd": "grow", "to": N}            -> {"clients": N, "failed": F, "seconds": S}
    {"cmd": "arm", "marker": "..."}     -> {"armed": "..."}
    {"cmd": "collect", "t0": T, "timeout": S}
        -> {"clients": N, "received": R, "latencies_ms": [...]} (arrival - T, per client)
    {"cmd": "quit"}

T is a time.monotonic() of the driver: CLOCK_MONOTONIC is one clock for all processes.

One process holds as many clients as it may open files, and one source address has about
28,000 ephemeral ports (Linux's default range): more clients take several swarms, each from
its own loopback address (`--source 127.0.0.N`; see bench.fanout.Swarm).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import time
from urllib.parse import urlsplit

from bench.loops import new_loop
from bench.procs import raise_nofile

CONNECT_CONCURRENCY = 100
IP_BIND_ADDRESS_NO_PORT = 24  # Linux's, not in Python's socket module
READY_TIMEOUT = 30.0


class Swarm:
    """What all clients share: the marker they watch for and when each saw it."""

    def __init__(self) -> None:
        self.marker = b""
        self.generation = 0
        self.arrivals: list[float] = []
        self.everyone = asyncio.Event()
        self.clients: list[SseClient] = []

    def arm(self, marker: str) -> None:
        self.marker = marker.encode()
        self.generation += 1
        self.arrivals = []
        self.everyone = asyncio.Event()

    def arrived(self, at: float) -> None:
        self.arrivals.append(at)
        if len(self.arrivals) >= len(self.clients):
            self.everyone.set()


class SseClient(asyncio.Protocol):
    """One screen holding an SSE connection; notes when the armed marker reaches it."""

    def __init__(self, swarm: Swarm, request: bytes, ready_token: bytes) -> None:
        self.swarm = swarm
        self.request = request
        self.ready_token = ready_token
        self.ready = asyncio.get_running_loop().create_future()
        self.head = b""
        self.tail = b""
        self.seen = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        at = time.monotonic()
        if not self.ready.done():
            self._handshake(data)
            return
        swarm = self.swarm
        if swarm.marker and self.seen != swarm.generation:
            window = self.tail + data
            if swarm.marker in window:
                self.seen = swarm.generation
                swarm.arrived(at)
            self.tail = window[-len(swarm.marker) :]

    def _handshake(self, data: bytes) -> None:
        self.head += data
        if not self.head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")) and b"\r\n" in self.head:
            self.ready.set_exception(ConnectionError(self.head.split(b"\r\n")[0].decode()))
        elif b"\r\n\r\n" in self.head and self.ready_token in self.head:
            self.ready.set_result(None)
            self.head = b""

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("closed before ready"))


def _request(url: str) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
    )
    return parts.hostname or "127.0.0.1", parts.port or 80, request.encode()


async def _connected(loop: asyncio.AbstractEventLoop, source: str, host: str, port: int
                     ) -> socket.socket:
    """A socket from `source` connected to host:port. The port is picked at connect time
    (IP_BIND_ADDRESS_NO_PORT): a bind to port 0 must find a port free for every destination,
    which gets slow as thousands are taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source, 0))
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def grow(swarm: Swarm, url: str, ready_token: bytes, to: int, source: str) -> dict:
    """Connect clients from `source` until `to` are ready (at most CONNECT_CONCURRENCY
    handshakes at once)."""
    loop = asyncio.get_running_loop()
    host, port, request = _request(url)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    failed = 0
    started = time.monotonic()

    async def one() -> None:
        nonlocal failed
        async with gate:
            try:
                _t, client = await loop.create_connection(
                    lambda: SseClient(swarm, request, ready_token),
                    sock=await _connected(loop, source, host, port),
                )
                await asyncio.wait_for(client.ready, READY_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                failed += 1
                if failed == 1:
                    print(f"swarm: client failed: {exc!r}", file=sys.stderr)
            else:
                swarm.clients.append(client)

    await asyncio.gather(*(one() for _ in range(max(0, to - len(swarm.clients)))))
    return {
        "clients": len(swarm.clients),
        "failed": failed,
        "seconds": round(time.monotonic() - started, 2),
    }


async def collect(swarm: Swarm, t0: float, timeout: float) -> dict:
    """Wait (bounded) until every client saw the marker; latencies in ms after t0."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(swarm.everyone.wait(), timeout)
    return {
        "clients": len(swarm.clients),
        "received": len(swarm.arrivals),
        "latencies_ms": [round((at - t0) * 1000, 3) for at in swarm.arrivals],
    }


async def serve(url: str, ready_token: bytes, source: str) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    swarm = Swarm()
    while line := await reader.readline():
        command = json.loads(line)
        match command["cmd"]:
            case "grow":
                reply = await grow(swarm, url, ready_token, command["to"], source)
            case "arm":
                swarm.arm(command["marker"])
                reply = {"armed": command["marker"]}
            case "collect":
                reply = await collect(swarm, command["t0"], command["timeout"])
            case "quit":
                break
            case other:
                reply = {"error": f"unknown command {other!r}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    for client in swarm.clients:
        if client.transport:
            client.transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="idle SSE clients for the push bench")
    parser.add_argument("--url", required=True)
    parser.add_argument("--ready-token", default="")
    parser.add_argument("--source", default="127.0.0.2", help="loopback source address")
    args = parser.parse_args()
    raise_nofile()
    loop = new_loop(uvloop=True)
    try:
        loop.run_until_complete(serve(args.url, args.ready_token.encode(), args.source))
    finally:
        loop.close()


if __name__ == "__main__":
    main()
