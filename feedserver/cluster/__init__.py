"""Several processes on one store acting as one: the log follower and the leader's duties.

Every process follows the event log (see `follow`); one of them, the leader, runs what must
run once (see `leader`). A single process is the same thing with a cluster of one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from aiohttp import web

from feedserver.cluster.follow import LogFollower
from feedserver.cluster.leader import LEAD_NAME, LeaderLock, Leadership
from feedserver.events import EventBus
from feedserver.store.base import Store
from feedserver.tasks import running

Ctx = Callable[[web.Application], AsyncIterator[None]]


class Cluster:
    """This process's part: following the log, and leading while the store says it may."""

    def __init__(self, store: Store, bus: EventBus) -> None:
        self.follower = LogFollower(store, bus)
        self.leadership = Leadership(LeaderLock(store.leadership(LEAD_NAME)))

    async def ctx(self, app: web.Application) -> AsyncIterator[None]:
        """cleanup_ctx, right after the store opens: every part that loads from the store
        after this starts from the state at the sequence number the follower starts at."""
        await self.follower.start()
        async with running(self.follower.run(), "log-follower"), \
                running(self.leadership.run(), "leadership"):
            yield

    def duty(self, name: str, make: Callable[[], Coroutine[Any, Any, None]]) -> Ctx:
        """A cleanup_ctx whose task runs in the leading process only."""

        async def ctx(app: web.Application) -> AsyncIterator[None]:
            async with self.leadership.duty(name, make):
                yield

        return ctx
