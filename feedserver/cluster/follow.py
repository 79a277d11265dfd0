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

from feedserver.events import EventBus
from feedserver.store.base import Store
from feedserver.tasks import wait_at_most

log = logging.getLogger(__name__)

BATCH = 500
RETRY_SECONDS = 1.0


class LogFollower:
    def __init__(self, store: Store, bus: EventBus, fallback_seconds: float = 1.0) -> None:
        self.store = store
        self.bus = bus
        self.fallback_seconds = fallback_seconds
        self._poked = asyncio.Event()

    async def start(self) -> None:
        """Start from the log's end: what is committed now, every part loads from the store."""
        self.bus.last_seq = await self.store.last_seq()
        self.bus.on_gap = self._poked.set

    async def catch_up(self) -> None:
        """Apply every event after the last one applied here, in order."""
        while True:
            events = await self.store.events_since(self.bus.last_seq, BATCH)
            for event in events:
                self.bus.apply(event)
            if len(events) < BATCH:
                return

    async def run(self) -> None:
        """Catch up whenever woken by the store, poked by a commit that came out ahead of an
        event not applied yet, or when `fallback_seconds` pass without either."""
        listening = asyncio.create_task(self._listen(), name="log-wakeups")
        try:
            while True:
                await wait_at_most(self._poked, self.fallback_seconds)
                self._poked.clear()
                try:
                    await self.catch_up()
                except Exception:
                    log.exception("following the event log failed; retrying")
                    await asyncio.sleep(RETRY_SECONDS)
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

    async def _listen(self) -> None:
        while True:
            try:
                # LISTEN/NOTIFY on PostgreSQL; on SQLite, commits of this process and a look
                # at the last sequence number a few times a second
                async for _ in self.store.committed_events(self.bus.last_seq):
                    self._poked.set()
            except Exception:
                log.exception("waiting for new events failed; the log is still read every %ss",
                              self.fallback_seconds)
            await asyncio.sleep(RETRY_SECONDS)
