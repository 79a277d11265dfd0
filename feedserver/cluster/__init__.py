"""Several processes on one store acting as one: the log follower and the leader's duties.

Every process follows the event log (see `follow`); one of them, the leader, runs what must
run once (see `leader`). A single process is the same thing with a cluster of one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from functools import partial
from typing import Any

from aiohttp import web

from feedserver.appkeys import CONFIG, EVENTS, STORE
from feedserver.cluster.follow import LogFollower, Wakeups, polled_wakeups
from feedserver.cluster.leader import FileLeaderLock, LeaderLock, Leadership, StoreLeaderLock

LEADERSHIP = web.AppKey("leadership", Leadership)
FOLLOWER = web.AppKey("follower", LogFollower)
# How often a process without notifications from its store looks at the log's end.
POLL_SECONDS = 0.2


def _wakeups(app: web.Application) -> Wakeups:
    store = app[STORE]
    notified = getattr(store, "committed_events", None)  # LISTEN/NOTIFY, where the store has it
    return notified if notified is not None else partial(polled_wakeups, store,
                                                         interval=POLL_SECONDS)


def _leader_lock(app: web.Application) -> LeaderLock:
    lead = getattr(app[STORE], "leadership", None)  # an advisory lock, where the store has it
    return StoreLeaderLock(lead("leader")) if lead is not None \
        else FileLeaderLock(app[CONFIG].data_dir / "leader.lock")


async def cluster_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx, right after the store: follow the log; lead when the lock is ours."""
    follower = LogFollower(app[STORE], app[EVENTS], _wakeups(app))
    await follower.start()
    leadership = Leadership(_leader_lock(app))
    app[FOLLOWER] = follower
    app[LEADERSHIP] = leadership
    tasks = [asyncio.create_task(follower.run(), name="log-follower"),
             asyncio.create_task(leadership.run(), name="leadership")]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def leader_duty(name: str, make: Callable[[web.Application], Coroutine[Any, Any, None]]):
    """A cleanup_ctx whose task runs in the leading process only."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async with app[LEADERSHIP].duty(name, lambda: make(app)):
            yield

    return ctx

