"""The push driver: publish -> every idle SSE client received it, and memory per connection.

`fan_out` works against any SSE URL and any `Publisher` (feedserver's alert publish, nchan's
publisher location), so both sides are measured by the same clients in the same way.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bench.procs import (
    LOAD_CPUS,
    nofile_limit,
    pinned,
    python,
    quiet,
    rss_kib,
    server_tree,
    stop,
)
from bench.stats import median, percentile

COLLECT_TIMEOUT = 15.0
SETTLE_SECONDS = 1.0
CLIENTS_PER_SOURCE = 20_000  # of the ~28,000 ephemeral ports a loopback address has
FILES_SPARE = 500  # open files a swarm process needs besides its clients' sockets


class Publisher(Protocol):
    """Something that can broadcast a message the clients will recognise."""

    async def prepare(self) -> str:
        """Get the next message ready; return a string that only its delivery contains."""

    async def publish(self) -> None:
        """Broadcast the prepared message (the clock starts just before this call)."""

    async def retract(self) -> None:
        """Undo the last message where the server keeps state (e.g. cancel the alert)."""

    @property
    def retract_echoes(self) -> bool:
        """True when retract() sends an event carrying the same marker: the driver waits for
        it to reach every client, so that the next publish starts with quiet clients."""


@dataclass(frozen=True)
class Step:
    """The figures at one number of connected clients (medians over the publishes)."""

    clients: int
    failed: int
    kib_per_connection: float | None
    p50_ms: float | None
    p99_ms: float | None
    last_ms: float | None
    missing: int


class SwarmProcess:
    """The client swarm (bench.swarm) in its own process, pinned away from the server."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, url: str, ready_token: str, source: str, cpus: str | None
                    ) -> SwarmProcess:
        args = python("bench.swarm", "--url", url, "--ready-token", ready_token,
                      "--source", source)
        proc = await asyncio.create_subprocess_exec(
            *pinned(args, cpus),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**24,
        )
        return cls(proc)

    async def ask(self, wait: float, **command: object) -> dict:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), wait)
        if not line:
            raise RuntimeError(f"swarm exited ({self.proc.returncode}) during {command}")
        return json.loads(line)

    async def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.is_closing():
            self.proc.stdin.write(b'{"cmd": "quit"}\n')
            self.proc.stdin.close()
        await stop(self.proc)


class Swarm:
    """Enough swarm processes for the clients: each within the open-file limit of a process
    and the ephemeral ports of its own loopback source address (127.0.0.2, .3, ...). Never
    127.0.0.1: tens of thousands of clients there would take the ports that servers (ours and
    anyone's on this machine) are about to listen on."""

    def __init__(self, procs: list[SwarmProcess]) -> None:
        self.procs = procs

    @classmethod
    async def start(cls, url: str, ready_token: str, clients: int, cpus: str | None) -> Swarm:
        per_process = min(CLIENTS_PER_SOURCE, nofile_limit() - FILES_SPARE)
        count = -(-clients // per_process)
        return cls([await SwarmProcess.start(url, ready_token, f"127.0.0.{2 + i}", cpus)
                    for i in range(count)])

    async def ask(self, wait: float, **command: object) -> list[dict]:
        """The same command to every process (a grow to N clients in all is shared out)."""
        share = command.get("to")
        count = len(self.procs)
        return await asyncio.gather(*(
            proc.ask(wait, **command) if share is None else
            proc.ask(wait, **{**command, "to": share // count + (i < share % count)})
            for i, proc in enumerate(self.procs)
        ))

    async def grow(self, to: int) -> dict:
        replies = await self.ask(600, cmd="grow", to=to)
        return {"clients": sum(r["clients"] for r in replies),
                "failed": sum(r["failed"] for r in replies)}

    async def close(self) -> None:
        await asyncio.gather(*(proc.close() for proc in self.procs))


async def _deliver(swarm: Swarm, marker: str, send) -> list[float]:
    await swarm.ask(10, cmd="arm", marker=marker)
    t0 = time.monotonic()
    await send()
    replies = await swarm.ask(COLLECT_TIMEOUT + 10, cmd="collect", t0=t0,
                              timeout=COLLECT_TIMEOUT)
    return [x for r in replies for x in r["latencies_ms"]] + [float("inf")] * sum(
        r["clients"] - r["received"] for r in replies)


@dataclass(frozen=True)
class Side:
    """One server under test: where its clients connect, how to publish, its processes."""

    url: str
    publisher: Publisher
    server: tuple[int, ...]
    ready_token: str = ""


class _Tally:
    """One side's figures at one client count, publish by publish."""

    def __init__(self) -> None:
        self.p50s: list[float | None] = []
        self.p99s: list[float | None] = []
        self.lasts: list[float | None] = []
        self.missing = 0

    def add(self, latencies: list[float]) -> None:
        self.missing = max(self.missing, sum(1 for x in latencies if x == float("inf")))
        self.p50s.append(percentile(latencies, 50))
        self.p99s.append(percentile(latencies, 99))
        self.lasts.append(max(latencies, default=None))


async def _publish_once(side: Side, swarm: Swarm) -> list[float]:
    await quiet(side.server)  # the last publish's renders, if any, are done
    marker = await side.publisher.prepare()
    latencies = await _deliver(swarm, marker, side.publisher.publish)
    if side.publisher.retract_echoes:
        await _deliver(swarm, marker, side.publisher.retract)
    else:
        await side.publisher.retract()
    return latencies


async def fan_out(
    sides: Sequence[Side],
    *,
    steps: Sequence[int],
    publishes: int,
    cpus: str | None = LOAD_CPUS,
) -> list[list[Step]]:
    """Grow each side's swarm through `steps` clients; at each, measure `publishes` sends per
    side, interleaved (A B A B ...) so that what else runs on the machine hits every side
    alike, and memory per connection as each server's RSS growth over the clients this step
    added (so what publishes leave behind, such as cached renders, is not counted as
    connection memory). The swarms run on `cpus`, in as many processes as the clients need."""
    swarms: list[Swarm] = []
    results: list[list[Step]] = [[] for _ in sides]
    clients = [0] * len(sides)
    try:
        for side in sides:
            swarms.append(await Swarm.start(side.url, side.ready_token, max(steps), cpus))
        for target in steps:
            grown, added = [], []
            for side, swarm in zip(sides, swarms, strict=True):
                await quiet(side.server)
                before = rss_kib(server_tree(side.server))
                grown.append(await swarm.grow(target))
                await asyncio.sleep(SETTLE_SECONDS)
                added.append(rss_kib(server_tree(side.server)) - before)
            tallies = [_Tally() for _ in sides]
            for _ in range(publishes):
                for side, swarm, tally in zip(sides, swarms, tallies, strict=True):
                    tally.add(await _publish_once(side, swarm))
            for i, tally in enumerate(tallies):
                connected, clients[i] = clients[i], grown[i]["clients"]
                results[i].append(
                    Step(
                        clients=clients[i],
                        failed=grown[i]["failed"],
                        kib_per_connection=added[i] / (clients[i] - connected)
                        if clients[i] > connected
                        else None,
                        p50_ms=median(tally.p50s),
                        p99_ms=median(tally.p99s),
                        last_ms=median(tally.lasts),
                        missing=tally.missing,
                    )
                )
    finally:
        await asyncio.gather(*(swarm.close() for swarm in swarms))
    return results
