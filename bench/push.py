"""Push fan-out: publish -> every idle SSE client received it, and memory per connection.

`fan_out` works against any SSE URL and any `Publisher` (feedserver's alert publish, nchan's
publisher location), so both sides are measured by the same clients in the same way.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp

from bench import payloads
from bench.fs import FeedServer, feedserver
from bench.nginx import NCHAN_LOCATIONS, nginx
from bench.procs import LOAD_CPUS, SERVER_CPUS, pinned, python, rss_kib, server_tree, stop
from bench.stats import median, percentile
from bench.table import Row

COLLECT_TIMEOUT = 15.0
SETTLE_SECONDS = 1.0


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
    async def start(cls, url: str, ready_token: str) -> SwarmProcess:
        args = python("bench.swarm", "--url", url, "--ready-token", ready_token)
        proc = await asyncio.create_subprocess_exec(
            *pinned(args, LOAD_CPUS),
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


async def _deliver(swarm: SwarmProcess, marker: str, send) -> list[float]:
    await swarm.ask(10, cmd="arm", marker=marker)
    t0 = time.monotonic()
    await send()
    reply = await swarm.ask(COLLECT_TIMEOUT + 10, cmd="collect", t0=t0, timeout=COLLECT_TIMEOUT)
    return reply["latencies_ms"] + [float("inf")] * (reply["clients"] - reply["received"])


async def fan_out(
    url: str,
    publisher: Publisher,
    server: tuple[int, ...],
    *,
    steps: Sequence[int],
    publishes: int,
    ready_token: str = "",
) -> list[Step]:
    """Grow the swarm through `steps` clients; at each, measure memory and `publishes` sends."""
    baseline = rss_kib(server_tree(server))
    swarm = await SwarmProcess.start(url, ready_token)
    results = []
    try:
        for target in steps:
            grown = await swarm.ask(300, cmd="grow", to=target)
            await asyncio.sleep(SETTLE_SECONDS)
            clients = grown["clients"]
            rss = rss_kib(server_tree(server))
            p50s, p99s, lasts, missing = [], [], [], 0
            for _ in range(publishes):
                marker = await publisher.prepare()
                latencies = await _deliver(swarm, marker, publisher.publish)
                missing = max(missing, sum(1 for x in latencies if x == float("inf")))
                p50s.append(percentile(latencies, 50))
                p99s.append(percentile(latencies, 99))
                lasts.append(max(latencies, default=None))
                if publisher.retract_echoes:
                    await _deliver(swarm, marker, publisher.retract)
                else:
                    await publisher.retract()
            results.append(
                Step(
                    clients=clients,
                    failed=grown["failed"],
                    kib_per_connection=(rss - baseline) / clients if clients else None,
                    p50_ms=median(p50s),
                    p99_ms=median(p99s),
                    last_ms=median(lasts),
                    missing=missing,
                )
            )
    finally:
        await swarm.close()
    return results


class NchanPublisher:
    """Publishes the same envelope feedserver sends, to nchan's publisher location."""

    retract_echoes = False

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url
        self.body = b""

    async def prepare(self) -> str:
        marker = f"bench-{uuid.uuid4().hex}"
        self.body = payloads.envelope(marker)
        return marker

    async def publish(self) -> None:
        async with self.session.post(self.url, data=self.body) as response:
            response.raise_for_status()

    async def retract(self) -> None:
        """nchan keeps no alert state; nothing to undo."""


async def nchan_fan_out(steps: Sequence[int], publishes: int) -> list[Step]:
    """The reference: nginx + nchan (one worker, one core) with the same swarm and message."""
    async with (
        nginx(
            locations=NCHAN_LOCATIONS, nchan=True, connections=max(steps) + 5000, cpus=SERVER_CPUS
        ) as server,
        aiohttp.ClientSession() as session,
    ):
        publisher = NchanPublisher(session, server.url("/pub"))
        return await fan_out(
            server.url("/sub"), publisher, (server.pid,), steps=steps, publishes=publishes
        )


class FeedServerPublisher:
    """Publishes a new AMBER alert through the staff API; retracting cancels it."""

    retract_echoes = True

    def __init__(self, fs: FeedServer, photo: str) -> None:
        self.fs, self.photo = fs, photo
        self.alert_id = ""
        self.count = 0

    async def prepare(self) -> str:
        self.count += 1
        self.alert_id = await self.fs.create(self.count, self.photo)
        return self.alert_id

    async def publish(self) -> None:
        await self.fs.publish(self.alert_id)

    async def retract(self) -> None:
        await self.fs.cancel(self.alert_id)


async def _has_events(fs: FeedServer) -> bool:
    try:
        async with fs.session.get(
            fs.feed_url(suffix="/events"), timeout=aiohttp.ClientTimeout(total=5)
        ) as response:
            return response.status == 200 and response.content_type == "text/event-stream"
    except (aiohttp.ClientError, TimeoutError):
        return False


async def feedserver_fan_out(steps: Sequence[int], publishes: int) -> list[Step] | None:
    """feedserver (one process, one core) with the same swarm; None without an SSE endpoint."""
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        async with feedserver(Path(tmp), profiles=1, cpus=SERVER_CPUS) as fs:
            if not await _has_events(fs):
                return None
            publisher = FeedServerPublisher(fs, await fs.upload_photo())
            return await fan_out(
                fs.feed_url(suffix="/events"),
                publisher,
                fs.pids,
                steps=steps,
                publishes=publishes,
                ready_token="snapshot",
            )


def _note(step: Step | None) -> str:
    if step is None:
        return ""
    problems = [f"{step.failed} could not connect"] * bool(step.failed)
    problems += [f"{step.missing} never got it"] * bool(step.missing)
    return "; ".join(problems)


def rows(ours: list[Step] | None, nchan: list[Step]) -> list[Row]:
    """Rows per client count: p99 and last delivery, memory per connection; p50 at the top."""
    missing = "" if ours is not None else "feedserver has no SSE endpoint yet"
    result = []
    for i, ref in enumerate(nchan):
        step = ours[i] if ours else None
        n = f"{ref.clients:,} SSE clients"
        note = missing or _note(step) or _note(ref)
        top = i == len(nchan) - 1
        if top:
            result.append(
                Row(
                    f"publish → client p50, {n}",
                    step and step.p50_ms,
                    "ms",
                    "nchan p50",
                    ref.p50_ms,
                    note=note,
                )
            )
        result += [
            Row(
                f"publish → client p99, {n}",
                step and step.p99_ms,
                "ms",
                "nchan p99",
                ref.p99_ms,
                "ratio <= 1.2",
                note,
            ),
            Row(
                f"publish → last client, {n}",
                step and step.last_ms,
                "ms",
                "nchan last client",
                ref.last_ms,
                "figure < 1000" if top else "",
                note,
            ),
            Row(
                f"memory per idle connection, {n}",
                step and step.kib_per_connection,
                "KiB",
                "nchan",
                ref.kib_per_connection,
                "figure < 16",
                note,
            ),
        ]
    return result


async def section(steps: Sequence[int], publishes: int) -> list[Row]:
    """Push rows: nchan first (the reference), then feedserver, each with a fresh swarm."""
    nchan = await nchan_fan_out(steps, publishes)
    ours = await feedserver_fan_out(steps, publishes)
    return rows(ours, nchan)
