"""In-process fan-out of committed changes to the parts derived from the store.

The store is the truth; this bus only tells caches, renderers and streams that something they
derive has changed, after the transaction committed. Listeners are called synchronously and
must be cheap (invalidate, schedule); subscribers get committed events in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from feedserver.store.base import Event

Listener = Callable[[dict, Event | None], None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._queues: set[asyncio.Queue[Event]] = set()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, alert: dict, event: Event | None) -> None:
        """Tell everyone that `alert` changed; `event` is set when screens must hear of it."""
        for listener in self._listeners:
            listener(alert, event)
        if event is not None:
            for queue in self._queues:
                queue.put_nowait(event)

    async def subscribe(self) -> AsyncIterator[Event]:
        """Committed events from now on, in sequence order."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)
