"""Workers on one host: N server processes on one port, kept running by a small supervisor.

Each worker is `feedserver serve` itself, started again with the same config and listening
with SO_REUSEPORT, so the kernel spreads connections over them. They share nothing but the
store, the data directory and the port: each follows the event log, one leads (see
`feedserver.cluster`). The supervisor restarts a worker that dies and passes SIGTERM/SIGINT
on, so `feedserver serve --workers N` stops like a single process does. It passes SIGHUP (a
reload) on as well, to workers still starting too: each is started with SIGHUP blocked, so it
waits in the kernel until the worker can take it (`feedserver.lifecycle.ReloadRequests`).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType

from feedserver.config import Config
from feedserver.store import make_store

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # how often the supervisor looks for a worker that exited or a reload
RESTART_DELAY_SECONDS = 1.0
# A worker that dies this soon after starting, this many times in a row, will not come up
# (a bad config, a port taken by another program): give up rather than spin.
EARLY_DEATH_SECONDS = 10.0
EARLY_DEATHS_ALLOWED = 5
# A worker stops within its shutdown grace plus aiohttp's cancellation of what outlived it and
# the cleanup (the render pool finishes the renders it is running, the store its last write,
# each a few seconds on a loaded machine): allow this much on top, then SIGKILL.
STOP_MARGIN_SECONDS = 30.0
PR_SET_PDEATHSIG = 1


class Supervisor:
    def __init__(self, command: Sequence[str], workers: int, grace_seconds: float,
                 load: Callable[[], object], reload_asked: Callable[[], bool],
                 on_exit: Callable[[int], None] = lambda pid: None) -> None:
        """`reload_asked()` says whether SIGHUP came since it was last asked; `on_exit` hears
        the pid of each worker that exited (its metrics are tidied)."""
        self.command = list(command)
        self.load = load
        self.reload_asked = reload_asked
        self.on_exit = on_exit
        self.workers = workers
        self.stop_timeout = grace_seconds + STOP_MARGIN_SECONDS
        self.children: dict[int, tuple[subprocess.Popen, float]] = {}
        self.stopping = False
        self.early_deaths = 0

    def _spawn(self, slot: int) -> None:
        # the worker inherits the mask: a SIGHUP passed on before it can take one waits
        # instead of ending it (the default), however early it comes
        unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
        try:
            child = subprocess.Popen(self.command)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)
        self.children[slot] = (child, time.monotonic())
        log.info("worker %d started (pid %d)", slot, child.pid)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        for child, _ in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def _reload(self) -> None:
        """SIGHUP: check the config file once here, then have every worker take it (each
        applies it to itself, or refuses a change that needs a restart, and logs it; one still
        starting does so once it is ready)."""
        try:
            self.load()
        except ValueError as exc:  # ConfigError, with the place named
            log.error("config reload refused, the running config stays in force: %s", exc)
            return
        alive = [child for child, _ in self.children.values() if child.poll() is None]
        for child in alive:
            child.send_signal(signal.SIGHUP)
        log.info("config reload: the file is valid; passed on to workers (pids %s)",
                 ", ".join(str(child.pid) for child in alive))

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for slot in range(self.workers):
            self._spawn(slot)
        while not self.stopping:
            time.sleep(POLL_SECONDS)
            if self.reload_asked():
                self._reload()
            for slot, (child, started) in list(self.children.items()):
                code = child.poll()
                if code is None or self.stopping:
                    continue
                self.on_exit(child.pid)
                early = time.monotonic() - started < EARLY_DEATH_SECONDS
                self.early_deaths = self.early_deaths + 1 if early else 0
                if self.early_deaths > EARLY_DEATHS_ALLOWED:
                    log.error("workers keep exiting at start (last: %d); giving up", code)
                    self._stop(signal.SIGTERM, None)
                    self._wait()
                    return 1
                log.error("worker %d (pid %d) exited with %d; restarting", slot, child.pid,
                          code)
                time.sleep(RESTART_DELAY_SECONDS)
                self._spawn(slot)
        return 0 if self._wait() else 1

    def _wait(self) -> bool:
        """Wait for every worker's graceful stop; whether all stopped cleanly (exit 0)."""
        deadline = time.monotonic() + self.stop_timeout
        clean = True
        for slot, (child, _) in self.children.items():
            try:
                code = child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker %d (pid %d) did not stop within %.0fs; killed", slot,
                          child.pid, self.stop_timeout)
                child.kill()
                code = child.wait()
            clean = clean and code == 0
        return clean


def prepare_store(config: Config) -> None:
    """Open the store once before any worker starts, which brings its schema up to date: the
    workers find it ready (none races another to create a new SQLite file; on either store the
    migrations run from here), and a store the server cannot use (written by a newer
    feedserver, unreachable) stops it once with the reason, rather than failing every worker
    at its start until the supervisor gives up. Raises SchemaTooNew or StoreUnavailable."""

    async def open_and_close() -> None:
        store = make_store(config.storage, config.sqlite_path)
        await store.open()
        await store.close()

    asyncio.run(open_and_close())


def end_with_supervisor() -> None:
    """In a worker: be sent SIGTERM when the supervisor dies, even by SIGKILL, rather than live
    on as an orphan holding the port (Linux's PR_SET_PDEATHSIG; elsewhere nothing)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def worker_command(config_path: str, listen: str, log_format: str | None) -> list[str]:
    """One worker: this same server, told it is one of several on a shared port."""
    log = ["--log-format", log_format] if log_format else []
    return [sys.executable, "-m", "feedserver", "serve", "--config", config_path,
            "--listen", listen, *log, "--worker"]
