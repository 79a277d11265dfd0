"""The order in which creatives reach the process pool: what a client is waiting for first,
then each profile's primary format, then the rest. Only as many jobs as the pool has workers
are handed over at a time, so a new alert's primary creatives overtake an older backlog."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from feedserver.alerts.model import Shown

from .creative import Creative
from .photos import PhotoData
from .shared import render_stored

URGENT, PRIMARY, REST = 0, 1, 2


@dataclass(frozen=True)
class Job:
    """One creative to make: everything the pool needs, and the digest that names the result."""

    digest: str
    alert: Shown
    size: tuple[int, int]
    layout: str
    languages: tuple[str, ...]
    fmt: str


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
        self._heap: asyncio.PriorityQueue[tuple[int, int, str]] = asyncio.PriorityQueue()
        self._pending: dict[str, _Pending] = {}
        self._running: set[str] = set()
        self._order = itertools.count()
        self._feeders: list[asyncio.Task[None]] = []
        self._stopped = False

    def start(self) -> None:
        self._feeders = [asyncio.create_task(self._feed()) for _ in range(self.workers)]

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
            self._heap.put_nowait((priority, next(self._order), job.digest))
        elif priority < pending.priority and job.digest not in self._running:
            pending.priority = priority
            self._heap.put_nowait((priority, next(self._order), job.digest))
        return pending.future

    @property
    def queued(self) -> int:
        """Jobs waiting for a worker (not those running)."""
        return len(self._pending) - len(self._running)

    def waiting(self, digest: str) -> asyncio.Future[Creative] | None:
        """The render of `digest` if it is queued or running; it becomes urgent."""
        pending = self._pending.get(digest)
        if pending is None:
            return None
        return self.submit(pending.job, pending.photos, URGENT)

    async def _feed(self) -> None:
        while True:
            _, _, digest = await self._heap.get()
            pending = self._pending.get(digest)
            if pending is None or digest in self._running:
                continue  # a stale entry left by a raised priority
            self._running.add(digest)
            job = pending.job
            started = time.perf_counter()
            try:
                creative = await asyncio.get_running_loop().run_in_executor(
                    self.pool,
                    render_stored,
                    self.shared_dir if self.shareable(digest) else None,
                    digest,
                    job.alert,
                    pending.photos,
                    job.size,
                    job.layout,
                    job.languages,
                    job.fmt,
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            else:
                if not pending.future.done():  # cancelled by a waiter that went away
                    pending.future.set_result(creative)
                if self.timed is not None:
                    self.timed(job.fmt, time.perf_counter() - started)
            finally:
                self._running.discard(digest)
                self._pending.pop(digest, None)
