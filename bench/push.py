"""Push rows: 1k/5k/10k idle SSE clients, publish -> delivery p50/p99/last and memory per
connection, feedserver beside nginx's nchan module with the same swarm and message.

Both servers run on core 0 (one nchan worker; one feedserver process with its pool), both up
at once with their publishes interleaved, each with its own client swarm on core 1. The
workers rows (`--only push-workers`) hold 50,000 clients (or as many as the open-file limit
of a process lets two hold) on 2 workers each (`serve --workers 2`, nchan's
`worker_processes 2`), everything unpinned.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp

from bench import payloads
from bench.fanout import Side, Step, fan_out
from bench.fs import FeedServer, feedserver
from bench.nginx import NCHAN_LOCATIONS, nginx
from bench.procs import LOAD_CPUS, PINNING, SERVER_CPUS, nofile_limit
from bench.table import BenchFailure, Row

# (row name, Step field, unit); p50 only at the largest client count.
METRICS = (
    ("publish → client p50", "p50_ms", "ms"),
    ("publish → client p99", "p99_ms", "ms"),
    ("publish → last client", "last_ms", "ms"),
    ("memory per idle connection", "kib_per_connection", "KiB"),
)
# Issue 6: p99 at most 1.2x nchan's. Issue 4: last client within 1 s at 10k, < 16 KiB each.
# Issue 16: p99 at 10k at most 1.0x nchan's; 50k idle clients on 2 workers, < 12 KiB each.
GOALS = {"p99_ms": "ratio <= 1.2", "kib_per_connection": "figure < 16"}
TOP_GOALS = {"last_ms": "figure < 1000", "p99_ms": "ratio <= 1.0"}
WORKERS_GOALS = {"kib_per_connection": "figure < 12"}
WORKERS = 2
SERVER_FILES_SPARE = 2000  # a worker's own files, and the kernel's uneven share of clients


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


@contextlib.asynccontextmanager
async def nchan_side(clients: int, workers: int) -> AsyncIterator[Side]:
    """The reference: nginx + nchan (one worker on one core, or `workers` unpinned)."""
    async with (
        nginx(
            locations=NCHAN_LOCATIONS, nchan=True, connections=clients + 5000,
            cpus=SERVER_CPUS if workers == 1 else None, workers=workers,
        ) as server,
        aiohttp.ClientSession() as session,
    ):
        publisher = NchanPublisher(session, server.url("/pub"))
        yield Side(server.url("/sub"), publisher, (server.pid,))


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


@contextlib.asynccontextmanager
async def feedserver_side(workers: int) -> AsyncIterator[Side]:
    """feedserver (one process on one core, or `workers` unpinned)."""
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        async with feedserver(Path(tmp), profiles=1, workers=workers,
                              cpus=SERVER_CPUS if workers == 1 else None) as fs:
            publisher = FeedServerPublisher(fs, await fs.upload_photo())
            yield Side(fs.feed_url(suffix="/events"), publisher, fs.pids, "snapshot")


async def compare(steps: Sequence[int], publishes: int, workers: int = 1
                  ) -> tuple[list[Step], list[Step]]:
    """feedserver's and nchan's figures, both servers up and their publishes interleaved."""
    async with nchan_side(max(steps), workers) as nchan, feedserver_side(workers) as ours:
        theirs, mine = await fan_out(
            [nchan, ours], steps=steps, publishes=publishes,
            cpus=LOAD_CPUS if workers == 1 else None,
        )
    return mine, theirs


def _check(server: str, step: Step) -> None:
    """Clients that could not connect or never got a message: the step measured nothing
    whole, so the run fails."""
    if step.failed or step.missing:
        raise BenchFailure(f"push: {server}, {step.clients:,} clients: {step.failed} could not"
                           f" connect, {step.missing} never got a message")


def rows(ours: list[Step], nchan: list[Step], publishes: int, workers: int = 1,
         note: str = "") -> list[Row]:
    """Per client count: p99, last delivery and memory per connection (and p50 at the top)."""
    result = []
    pinning = "pinned" if PINNING and workers == 1 else "unpinned"
    clients = "SSE clients" if workers == 1 else f"SSE clients, {workers} workers"
    for i, (step, ref) in enumerate(zip(ours, nchan, strict=True)):
        _check("feedserver", step)
        _check("nchan", ref)
        top = i == len(nchan) - 1
        for name, field, unit in METRICS:
            if field == "p50_ms" and not top:
                continue
            if workers > 1:
                goal = WORKERS_GOALS.get(field, "")
            else:
                goal = (TOP_GOALS.get(field) if top else "") or GOALS.get(field, "")
            measured = (f"RSS growth over the clients added, {pinning}" if unit == "KiB"
                        else f"median of {publishes} publishes, {pinning}")
            result.append(
                Row(
                    f"{name}, {ref.clients:,} {clients}",
                    getattr(step, field),
                    unit,
                    f"nchan, {name}" + (f", {workers} workers" if workers > 1 else ""),
                    getattr(ref, field),
                    measured,
                    goal,
                    note,
                )
            )
    return result


async def section(steps: Sequence[int], publishes: int) -> list[Row]:
    """Push rows: feedserver beside nchan, each with its own swarm, publishes interleaved."""
    ours, nchan = await compare(steps, publishes)
    return rows(ours, nchan, publishes)


async def workers_section(wanted: int, publishes: int) -> list[Row]:
    """`wanted` idle clients on 2 workers each (as many as the open-file limit of a process
    lets 2 workers hold), feedserver beside nchan; where that limit keeps 2 workers from
    holding them all, all of them again on as many workers as it takes."""
    limit = nofile_limit()
    per_worker = limit - SERVER_FILES_SPARE
    clients = min(wanted, WORKERS * per_worker)
    if clients == wanted:
        ours, nchan = await compare((clients,), publishes, WORKERS)
        return rows(ours, nchan, publishes, WORKERS)
    held = (f"{limit:,} open files per process here (hard limit; raising it needs"
            " CAP_SYS_RESOURCE)")
    ours, nchan = await compare((clients,), publishes, WORKERS)
    result = rows(ours, nchan, publishes, WORKERS, f"{wanted:,} wanted: {held}")
    needed = -(-wanted // per_worker)
    ours, nchan = await compare((wanted,), publishes, needed)
    return result + rows(ours, nchan, publishes, needed,
                         f"{needed} workers, as 2 cannot hold them: {held}")
