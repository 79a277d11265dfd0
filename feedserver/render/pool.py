"""The worker processes that decode photos, read CAP and render creatives, kept alive.

A `ProcessPoolExecutor` whose worker dies (killed, out of memory, a crashing decoder) is broken
for good: every later call fails. `WorkerPool` notices, starts a new executor and runs again
what the dead one lost, once; a job that breaks the pool a second time is reported as
`WorkerLost` instead of taking the pool down in a loop. Each worker runs under a memory limit,
so one huge image fails alone (`MemoryError`) instead of starving the machine.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

# The fork server imports these once; every worker starts with them loaded.
PRELOAD = ["feedserver.render.creative", "feedserver.photos"]


class WorkerLost(RuntimeError):
    """The job's worker died on both tries: the job itself kills workers."""


def limit_memory(limit_bytes: int | None) -> None:
    """Worker initializer: cap the worker's heap (RLIMIT_DATA counts malloc and anonymous
    mmap, not shared libraries), so an allocation past it raises MemoryError in that job."""
    if limit_bytes:
        resource.setrlimit(resource.RLIMIT_DATA, (limit_bytes, limit_bytes))


class WorkerPool:
    """Workers come from a fork server: a worker forked from the server process on demand
    would inherit its sockets and pipes and keep clients' connections open after it is gone."""

    def __init__(self, workers: int, memory_limit_bytes: int | None) -> None:
        self.workers = workers
        self.memory_limit_bytes = memory_limit_bytes
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        self._executor = self._new_executor()
        self._recovering: asyncio.Task[None] | None = None
        self._closed = False
        self.restarts = 0

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=self._context,
                                   initializer=limit_memory,
                                   initargs=(self.memory_limit_bytes,))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in a worker; a job lost with a dead worker runs again on new ones."""
        lost = 0
        while True:
            executor = self._executor
            try:
                future: Future[T] = executor.submit(fn, *args)
            except BrokenProcessPool:  # it broke before this job came: not the job's fault
                self._replace(executor)
                continue
            try:
                return await asyncio.wrap_future(future)
            except BrokenProcessPool as exc:
                self._replace(executor)
                lost += 1
                if lost == 2:
                    raise WorkerLost(f"{getattr(fn, '__name__', fn)}: its worker died twice") \
                        from exc

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Swap a broken executor for a new one (once, however many jobs saw it break)."""
        if self._executor is not broken or self._closed:
            return
        log.error("worker pool: a worker died; starting new workers and running its jobs again")
        self._executor = self._new_executor()
        self.restarts += 1
        broken.shutdown(wait=False, cancel_futures=True)
        self._recovering = asyncio.get_running_loop().create_task(self._prove(self._executor))

    async def _prove(self, executor: ProcessPoolExecutor) -> None:
        """Until a new executor has run a job, the pool is not known to work."""
        try:
            await asyncio.wrap_future(executor.submit(os.getpid))
        except BrokenProcessPool:
            self._replace(executor)
        except Exception:
            log.exception("worker pool: new workers do not start")
        else:
            if self._executor is executor:
                self._recovering = None

    def problem(self) -> str | None:
        """Why the pool cannot render now, or None (for /healthz). Looking also notices a
        worker that died while the pool was idle, and starts its replacement."""
        if self._closed:
            return "worker pool: shut down"
        if self._recovering is None:
            try:  # submit() refuses at once on a broken executor; the probe itself is free
                self._executor.submit(os.getpid)
            except BrokenProcessPool:
                self._replace(self._executor)
        if self._recovering is not None:
            return "worker pool: a worker died; new workers are starting"
        return None

    async def start(self) -> None:
        """Start every worker now rather than at the first job."""
        await asyncio.gather(*(self.run(os.getpid) for _ in range(self.workers)))

    def close(self) -> None:
        self._closed = True
        if self._recovering is not None:
            self._recovering.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
