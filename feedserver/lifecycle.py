"""A running server's life: its pid file, reloading on SIGHUP, and a graceful stop.

A graceful stop (SIGTERM) has one grace period that every part shares.

aiohttp stops the listening sockets, closes idle connections, runs `on_shutdown`, then waits up
to `shutdown_timeout` for the requests in flight before it cancels them and runs the cleanup
contexts. Parts that have work of their own in flight (a webhook POST) are told on
`on_shutdown` to start nothing new, and the cleanup waits for them only as long as is left of
the same grace, so the whole stop stays within about one `server.shutdown_grace_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import FrameType

from aiohttp import web

log = logging.getLogger(__name__)


class Stopping:
    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self._deadline: float | None = None
        self._actions: list[Callable[[], None]] = []

    def when_stopping(self, action: Callable[[], None]) -> None:
        """Run `action` (quick, synchronous: it only says "stop") when the stop begins."""
        self._actions.append(action)

    async def on_shutdown(self, app: web.Application) -> None:
        self._deadline = asyncio.get_running_loop().time() + self.grace_seconds
        log.info("stopping: no new connections; push clients told to reconnect; requests and "
                 "webhook attempts in flight get up to %ss", self.grace_seconds)
        for action in self._actions:
            action()

    def remaining(self) -> float:
        """Seconds left of the grace (all of it when no stop has begun, as in tests)."""
        if self._deadline is None:
            return self.grace_seconds
        return max(0.0, self._deadline - asyncio.get_running_loop().time())


PID_FILE = "feedserver.pid"


class NotRunning(RuntimeError):
    """No running server owns the data directory's pid file."""


@contextlib.contextmanager
def pid_file(data_dir: Path) -> Iterator[None]:
    """`data_dir/feedserver.pid` holds this process's id while it serves (the supervisor's,
    with several workers), so `feedserver reload` finds the server without being told."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / PID_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(f"{os.getpid()}\n")
    temporary.replace(path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            if int(path.read_text()) == os.getpid():
                path.unlink()


def running_pid(data_dir: Path) -> int:
    """The pid of the server serving `data_dir`, checked to be a live feedserver process (a
    stale file's pid may belong to something else by now)."""
    path = data_dir / PID_FILE
    try:
        pid = int(path.read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        raise NotRunning(f"no running server found: {path} does not exist, or names a "
                         "process that is gone") from None
    except ValueError:
        raise NotRunning(f"{path} does not hold a process id") from None
    if b"feedserver" not in command:
        raise NotRunning(f"{path} names pid {pid}, which is not feedserver (a stale file)")
    return pid


class ReloadRequests:
    """SIGHUP means "reload", never "hang up": from the start of `serve` each one is noted here
    until something can reload (the supervisor's loop takes them; a server's event loop takes
    over SIGHUP once it runs, and the ones that came while it started with it). A worker is
    started with SIGHUP blocked, so one passed on before this exists waits in the kernel
    instead of ending it; it is delivered, and noted, here."""

    def __init__(self) -> None:
        self._asked = False
        # a handler, not a mask: any thread may be handed the signal (numpy's start threads of
        # their own before this), and Python runs the handler in the main thread
        signal.signal(signal.SIGHUP, self._note)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self._asked = True

    def take(self) -> bool:
        """Whether a reload was asked for since the last call."""
        asked, self._asked = self._asked, False
        return asked


def reload_on_sighup(reload: Callable[[web.Application], None],
                     requests: ReloadRequests) -> Callable[[web.Application], Awaitable[None]]:
    """An on_startup hook: from now on SIGHUP calls `reload(app)` (in the event loop), and a
    reload asked for while the server started is done now."""

    async def install(app: web.Application) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload, app)
        if requests.take():
            reload(app)

    return install
