"""The order in which creatives reach the process pool: what a client is waiting for first,
then each profile's primary format, then the rest, each of these two the largest first. Only
two jobs per worker are handed over at a time, so a new alert's primary creatives overtake an
older backlog: one running, one waiting in the pool, which a worker takes as it finishes the
other without waiting for this process's event loop to hand it the next (under load, a few
milliseconds a render, for every render).

A profile's other formats go to the pool together, painted from one canvas: painting (text
above all) costs more than encoding. Its primary format goes alone and first, so that every
profile's primary creative is ready before any profile's other formats take a worker."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from feedserver.alerts.model import Shown

from . import shared
from .creative import Creative
from .photos import PhotoData

URGENT, PRIMARY, REST = 0, 1, 2
PER_WORKER = 2  # jobs handed to the pool at a time for each of its workers


@dataclass(frozen=True)
class Job:
    """One creative to make: everything the pool needs, and the digest that names the result.
    Jobs with the same `canvas` differ only in format (see `digest.canvas_digest`)."""

    digest: str
    alert: Shown
    size: tuple[int, int]
    layout: str
    languages: tuple[str, ...]
    fmt: str
    canvas: str


@dataclass
class _Pending:
    job: Job
    photos: dict[str, PhotoData]
    priority: int
    future: asyncio.Future[Creative] = field(default_factory=asyncio.Future)


Done = Callable[[Job, asyncio.Future[Creative]], None]
Timed = Callable[[str, float], None]  # (format, seconds) of each creative rendered


class RenderQueue:
    def __init__(self, pool: Executor, workers: int, on_done: Done,
                 shared_dir: str | None = None,
                 shareable: Callable[[str], bool] = lambda digest: False,
                 timed: Timed | None = None) -> None:
        """`shared_dir`: where the creatives that are `shareable` (served to screens) are
        rendered once for every process of the host (see `shared`); `timed` hears how long
        each render took (the metrics)."""
        self.pool, self.workers, self.on_done = pool, workers, on_done
        self.timed = timed
        self.shared_dir, self.shareable = shared_dir, shareable
        self._heap: asyncio.PriorityQueue[tuple[int, int, int, str]] = asyncio.PriorityQueue()
        self._pending: dict[str, _Pending] = {}
        self._canvases: dict[str, set[str]] = {}  # canvas -> digests pending with it
        self._running: set[str] = set()
        self._order = itertools.count()
        self._feeders: list[asyncio.Task[None]] = []
        self._stopped = False

    def start(self) -> None:
        self._feeders = [asyncio.create_task(self._feed())
                         for _ in range(self.workers * PER_WORKER)]

    async def stop(self) -> None:
        self._stopped = True
        for task in self._feeders:
            task.cancel()
        await asyncio.gather(*self._feeders, return_exceptions=True)
        for pending in self._pending.values():
            pending.future.cancel()

    def submit(self, job: Job, photos: dict[str, PhotoData], priority: int) -> asyncio.Future:
        """Queue a job (or join the same one already queued, raising its priority)."""
        if self._stopped:  # shutting down: nothing will render it
            future: asyncio.Future[Creative] = asyncio.get_running_loop().create_future()
            future.cancel()
            return future
        pending = self._pending.get(job.digest)
        if pending is None:
            pending = _Pending(job, photos, priority)
            pending.future.add_done_callback(lambda f: self.on_done(job, f))
            self._pending[job.digest] = pending
            self._canvases.setdefault(job.canvas, set()).add(job.digest)
            self._push(job, priority)
        elif priority < pending.priority and job.digest not in self._running:
            pending.priority = priority
            self._push(job, priority)
        return pending.future

    @property
    def queued(self) -> int:
        """Jobs waiting for a worker (not those running)."""
        return len(self._pending) - len(self._running)

    def _push(self, job: Job, priority: int) -> None:
        """Urgent jobs in the order they came (a client waits for each); within the other
        classes the largest first, so that no big render is left to run alone at the end
        while the other workers have nothing to do."""
        size = 0 if priority == URGENT else job.size[0] * job.size[1]
        self._heap.put_nowait((priority, -size, next(self._order), job.digest))

    def waiting(self, digest: str) -> asyncio.Future[Creative] | None:
        """The render of `digest` if it is queued or running; it becomes urgent."""
        pending = self._pending.get(digest)
        if pending is None:
            return None
        return self.submit(pending.job, pending.photos, URGENT)

    def _batch(self, leader: _Pending) -> list[_Pending]:
        """The leader and, when it is a secondary format, the other secondary formats of its
        canvas not yet taken (in digest order, so equal queues make equal batches)."""
        if leader.priority != REST:
            return [leader]
        shared = self.shareable(leader.job.digest)
        return [leader] + [
            self._pending[digest]
            for digest in sorted(self._canvases.get(leader.job.canvas, ()))
            if digest != leader.job.digest and digest not in self._running
            and self._pending[digest].priority == REST and self.shareable(digest) == shared
        ]

    def _finish(self, pending: _Pending) -> None:
        digest, canvas = pending.job.digest, pending.job.canvas
        self._running.discard(digest)
        self._pending.pop(digest, None)
        digests = self._canvases.get(canvas)
        if digests is not None:
            digests.discard(digest)
            if not digests:
                del self._canvases[canvas]

    async def _pool_call(self, directory: str | None, batch: list[_Pending]) -> shared.Rendered:
        job = batch[0].job
        return await asyncio.get_running_loop().run_in_executor(
            self.pool, shared.render_stored, directory, tuple(p.job.digest for p in batch),
            job.alert, batch[0].photos, job.size, job.layout, job.languages,
            tuple(p.job.fmt for p in batch))

    async def _render(self, batch: list[_Pending]) -> list[Creative | None]:
        """The batch's creatives, rendered in the pool or found in the shared directory."""
        directory = self.shared_dir if self.shareable(batch[0].job.digest) else None
        rendered = await self._pool_call(directory, batch)
        creatives = [
            shared.read(directory, pending.job.digest) if creative is None and directory
            else creative
            for creative, pending in zip(rendered.creatives, batch, strict=True)
        ]
        if None in creatives:  # another process forgot it just now: render it for this one
            rendered = await self._pool_call(None, batch)
            creatives = rendered.creatives
        if self.timed is not None and rendered.seconds is not None:
            for pending in batch:  # a batch shares one canvas: its time, shared
                self.timed(pending.job.fmt, rendered.seconds / len(batch))
        return creatives

    async def _feed(self) -> None:
        while True:
            *_, digest = await self._heap.get()
            leader = self._pending.get(digest)
            if leader is None or digest in self._running:
                continue  # a stale entry left by a raised priority, or taken with its canvas
            batch = self._batch(leader)
            self._running.update(p.job.digest for p in batch)
            try:
                creatives = await self._render(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
            else:
                for pending, creative in zip(batch, creatives, strict=True):
                    if not pending.future.done():  # cancelled by a waiter that went away
                        pending.future.set_result(creative)
            finally:
                for pending in batch:
                    self._finish(pending)
