"""The log follower: every process applies every committed event, its own and the others'.

Several processes (workers on one host, instances on several hosts) share one store. The event
log is the truth: each process keeps the sequence number of the last event it applied and,
when woken, applies the events after it, in order, to its feed cache, push hub, renders and
webhook senders (everything listening on the bus). A wake-up only says "look now": one that is
lost costs at most `fallback_seconds` of delay, because the follower also looks on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from feedserver.events import EventBus
from feedserver.store.base import Store

log = logging.getLogger(__name__)

BATCH = 500
RETRY_SECONDS = 1.0

# Returns when new events may have been committed (by any process).
Wakeup = Callable[[], Awaitable[None]]


def polling_wakeup(store: Store, bus: EventBus, interval: float) -> Wakeup:
    """For a store without notifications (SQLite): ask for the last sequence number.

    One indexed MAX() every `interval` seconds per process; cheap next to a single poll.
    """

    async def wait() -> None:
        while True:
            await asyncio.sleep(interval)
            if await store.last_seq() > bus.last_seq:
                return

    return wait


class LogFollower:
    def __init__(self, store: Store, bus: EventBus, wakeup: Wakeup,
                 fallback_seconds: float = 1.0) -> None:
        self.store = store
        self.bus = bus
        self.wakeup = wakeup
        self.fallback_seconds = fallback_seconds
        self._poked = asyncio.Event()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Start from the log's end: what is committed now, every part loads from the store."""
        self.bus.last_seq = await self.store.last_seq()
        self.bus.on_gap = self._poked.set

    async def catch_up(self) -> int:
        """Apply every event after the last one applied here; how many were applied."""
        applied = 0
        async with self._lock:
            while True:
                events = await self.store.events_since(self.bus.last_seq, BATCH)
                for event in events:
                    self.bus.apply(event)
                applied += len(events)
                if len(events) < BATCH:
                    return applied

    async def run(self) -> None:
        while True:
            try:
                await self._wait()
                self._poked.clear()
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following the event log failed; retrying")
                await asyncio.sleep(RETRY_SECONDS)

    async def _wait(self) -> None:
        """Until woken by the store, poked by a commit ahead of us, or the fallback passes."""
        if self._poked.is_set():
            return
        waits = [asyncio.ensure_future(self.wakeup()), asyncio.ensure_future(self._poked.wait())]
        try:
            await asyncio.wait(waits, timeout=self.fallback_seconds,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
