"""The worker processes that decode photos, read CAP and render creatives, kept alive.

A `ProcessPoolExecutor` whose worker dies (killed, out of memory, a crashing decoder) is broken
for good: every later call fails. `WorkerPool` is an Executor that notices, starts a new
process pool and submits again what the dead one lost, once; a job that breaks the pool a
second time fails as `WorkerLost` instead of taking the pool down in a loop. Each worker runs
under a memory limit, so one huge image fails alone (`MemoryError`) instead of starving the
machine.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import select
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, InvalidStateError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

# The fork server imports these once; every worker starts with them loaded: the renderer,
# photo decoding, and the CAP and national-list readers (lxml), so no job pays for an import
# and no worker grows by one when it first reads a message.
PRELOAD = ["feedserver.render.creative", "feedserver.photos", "feedserver.interop.cap_in",
           "feedserver.interop.national"]
TRIES = 2  # a job lost with a dead worker runs once more
WATCH_STACK_BYTES = 64 * 1024  # the owner-watching thread's (it counts against the heap cap)


class WorkerLost(RuntimeError):
    """The job's worker died on every try: the job itself kills workers."""


def start_worker(owner: int, limit_bytes: int | None, warm: Callable[[], None] | None) -> None:
    """Worker initializer: end with the pool's owner; cap the worker's heap (RLIMIT_DATA
    counts malloc and anonymous mmap, not shared libraries), so an allocation past it raises
    MemoryError in that job; then warm it, so that its first job costs no more than the
    next."""
    end_with(owner)
    if limit_bytes:
        resource.setrlimit(resource.RLIMIT_DATA, (limit_bytes, limit_bytes))
    if warm is not None:
        try:
            warm()
        except Exception:  # a worker that could not warm (a tight memory limit) starts cold
            log.exception("worker pool: warming a new worker failed; it starts cold")


def end_with(owner: int) -> None:
    """The worker ends when the process that owns its pool does, however that ends. A server
    killed by SIGKILL (the OOM killer, a supervisor past its patience) must not leave render
    workers running for good, holding memory and the photos of the children they drew. They
    do not notice by themselves: each holds its own call queue's write end and the fork
    server's lifeline, so neither they nor the fork server ever read an end. A thread with a
    small stack waits on a pidfd of the owner."""
    try:
        owner_fd = os.pidfd_open(owner)
    except ProcessLookupError:  # gone already
        os._exit(1)

    def watch() -> None:
        select.select([owner_fd], [], [])  # readable once the owner has exited
        os._exit(1)

    before = threading.stack_size(WATCH_STACK_BYTES)
    try:
        threading.Thread(target=watch, name="owner-watch", daemon=True).start()
    finally:
        threading.stack_size(before)


def _settle(outer: Future, inner: Future) -> None:
    """Pass the inner future's outcome on, unless the caller gave up on the outer one."""
    try:
        if inner.cancelled():
            outer.cancel()
        elif inner.exception() is not None:
            outer.set_exception(inner.exception())
        else:
            outer.set_result(inner.result())
    except InvalidStateError:
        pass


class WorkerPool(Executor):
    """Workers come from a fork server: a worker forked from the server process on demand
    would inherit its sockets and pipes and keep clients' connections open after it is gone.
    Callbacks run on the process pool's own thread, hence the lock."""

    def __init__(self, workers: int, memory_limit_bytes: int | None,
                 warm: Callable[[], None] | None = None) -> None:
        """`warm` runs in every worker as it starts (a module-level function)."""
        self.workers = workers
        self.memory_limit_bytes = memory_limit_bytes
        self.warm = warm
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        self._lock = threading.Lock()
        self._executor = self._new_executor()
        self._proven = True  # the current executor is known to run jobs
        self._closed = False
        self.restarts = 0

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=self._context,
                                   initializer=start_worker,
                                   initargs=(os.getpid(), self.memory_limit_bytes, self.warm))

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        outer: Future[T] = Future()
        self._submit(outer, fn, args, kwargs, TRIES)
        return outer

    def _submit(self, outer: Future, fn: Callable, args: tuple, kwargs: dict,
                tries: int) -> None:
        while True:
            executor = self._executor
            try:
                inner = executor.submit(fn, *args, **kwargs)
                break
            except BrokenProcessPool:  # it broke before this job came: not the job's fault
                if self._closed:  # and no new one comes
                    raise
                self._replace(executor)

        def done(inner: Future) -> None:
            if isinstance(inner.exception() if not inner.cancelled() else None,
                          BrokenProcessPool) and not self._closed:
                self._replace(executor)
                if tries > 1:
                    self._submit(outer, fn, args, kwargs, tries - 1)
                    return
                lost = WorkerLost(f"{getattr(fn, '__name__', fn)}: its worker died {TRIES} times")
                inner = Future()
                inner.set_exception(lost)
            _settle(outer, inner)

        inner.add_done_callback(done)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self.submit(fn, *args))

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Swap a broken process pool for a new one (once, however many jobs saw it break);
        the new one is proven by a first job."""
        with self._lock:
            if self._executor is not broken or self._closed:
                return
            log.error("worker pool: a worker died; starting new workers, running its jobs again")
            self._executor = fresh = self._new_executor()
            self._proven = False
            self.restarts += 1
        broken.shutdown(wait=False, cancel_futures=True)

        def proven(probe: Future) -> None:
            if probe.cancelled() or probe.exception() is not None:
                log.error("worker pool: new workers do not start: %r",
                          None if probe.cancelled() else probe.exception())
                self._replace(fresh)
            else:
                with self._lock:
                    self._proven = self._proven or self._executor is fresh

        try:
            fresh.submit(os.getpid).add_done_callback(proven)
        except (BrokenProcessPool, RuntimeError, OSError):
            log.exception("worker pool: new workers do not start")

    def problem(self) -> str | None:
        """Why the pool cannot render now, or None (for /healthz). Looking also notices a
        worker that died while the pool was idle, and starts its replacement."""
        if self._closed:
            return "worker pool: shut down"
        executor = self._executor
        try:  # submit() refuses at once on a broken process pool; the probe itself is free
            executor.submit(os.getpid)
        except BrokenProcessPool:
            self._replace(executor)
        if not self._proven:
            return "worker pool: a worker died; new workers are starting"
        return None

    async def start(self) -> None:
        """Start (and warm) every worker now rather than at the first job."""
        await asyncio.gather(*(self.run(os.getpid) for _ in range(self.workers)))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=cancel_futures)

    def close(self) -> None:
        self.shutdown(wait=True, cancel_futures=True)
