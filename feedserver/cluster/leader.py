"""Leadership: the duties that must run once, not once per process.

The upstream pollers, the expiry clock and the webhook outbox senders each act on the shared
store; run in every worker they would poll upstreams N times, race each other's expiries and
post webhooks N times. Whoever holds the store's lead runs them; the others keep asking for it,
so when the leader dies another takes over (on PostgreSQL an advisory lock, gone with the dead
process's session; on SQLite a lease the leader renews, taken over once it lapses).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from feedserver.store.base import Leadership as StoreLeadership

log = logging.getLogger(__name__)

Duty = Callable[[], Coroutine[Any, Any, None]]
DUTY_RETRY_SECONDS = 1.0
RENEW_SECONDS = 2.0  # well within the store's lease (15 s on SQLite)
LEAD_NAME = "leader"


class LeaderLock:
    """The store's lead (an advisory lock on PostgreSQL, a lease on SQLite), asked every
    `renew_seconds`: it answers at once whether this process leads, and is kept by asking."""

    def __init__(self, lead: StoreLeadership, renew_seconds: float = RENEW_SECONDS) -> None:
        self.lead = lead
        self.renew_seconds = renew_seconds

    async def _leads(self) -> bool:
        try:
            return await self.lead.acquire()
        except Exception as exc:  # the database is away: another may lead by now
            log.warning("leader lock not confirmed: %s", exc)
            return False

    async def acquire(self) -> None:
        while not await self._leads():
            await asyncio.sleep(self.renew_seconds)

    async def lost(self) -> None:
        while await self._leads():
            await asyncio.sleep(self.renew_seconds)

    async def release(self) -> None:
        try:
            await self.lead.release()
        except Exception as exc:
            log.warning("leader lock not released (it lapses by itself): %s", exc)


class Leadership:
    """Runs the registered duties while this process holds the leader lock."""

    def __init__(self, lock: LeaderLock) -> None:
        self.lock = lock
        self.leading = False
        self._duties: dict[str, Duty] = {}
        self._running: dict[str, asyncio.Task[None]] = {}

    @contextlib.asynccontextmanager
    async def duty(self, name: str, run: Duty) -> AsyncIterator[None]:
        """Run `run()` whenever this process leads, for as long as the block lasts."""
        self._duties[name] = run
        if self.leading:
            self._start(name)
        try:
            yield
        finally:
            del self._duties[name]
            await self._stop(name)

    def _start(self, name: str) -> None:
        self._running[name] = asyncio.create_task(self._keep(name, self._duties[name]),
                                                  name=name)

    async def _keep(self, name: str, run: Duty) -> None:
        """A duty that fails is restarted: nothing else would run it."""
        while True:
            try:
                await run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("leader duty %s failed; restarting", name)
                await asyncio.sleep(DUTY_RETRY_SECONDS)

    async def _stop(self, name: str) -> None:
        task = self._running.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """Wait for the lock, lead until it is lost, repeat."""
        while True:
            await self.lock.acquire()
            self.leading = True
            log.info("this process leads: upstream pollers, expiry clock, webhooks run here")
            for name in self._duties:
                self._start(name)
            try:
                await self.lock.lost()
                log.warning("leader lock lost; duties stop until it is held again")
            finally:
                self.leading = False
                for name in list(self._running):
                    await self._stop(name)
                await self.lock.release()
