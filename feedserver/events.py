"""In-process fan-out of committed changes to the parts derived from the store.

The store is the truth; this bus only tells caches, renderers and streams that something they
derive has changed, after the transaction committed. Listeners are called synchronously and
must be cheap (invalidate, schedule); subscribers get committed events in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from feedserver.store.base import Event

Listener = Callable[[dict, Event | None], None]


class Subscription:
    """Committed events from the moment of subscribing, in sequence order."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self.queue: asyncio.Queue[Event] = asyncio.Queue()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        return await self.queue.get()

    def close(self) -> None:
        self._bus._subscriptions.discard(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._subscriptions: set[Subscription] = set()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, alert: dict, event: Event | None) -> None:
        """Tell everyone that `alert` changed; `event` is set when screens must hear of it."""
        for listener in self._listeners:
            listener(alert, event)
        if event is not None:
            for subscription in self._subscriptions:
                subscription.queue.put_nowait(event)

    def subscribe(self) -> Subscription:
        """Start receiving committed events now; close the subscription when done."""
        subscription = Subscription(self)
        self._subscriptions.add(subscription)
        return subscription
