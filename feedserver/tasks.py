"""Background tasks that live exactly as long as a block: started on entry, cancelled on exit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any


@contextlib.asynccontextmanager
async def running(coroutine: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run `coroutine` as a task named `name` while the block runs; cancel and await it after."""
    task = asyncio.create_task(coroutine, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_at_most(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` for at most `seconds`; whether it was set. `asyncio.timeout`, not
    `wait_for`: on Python 3.11 `wait_for` loses a cancel that comes as the event is set, and
    a loop that waits this way then never ends (an app teardown hung on the log follower)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
