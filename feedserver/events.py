"""In-process fan-out of committed changes to the parts derived from the store.

The store is the truth; this bus only tells caches, renderers and streams that something they
derive has changed, after the transaction committed. Listeners are called synchronously and
must be cheap (invalidate, schedule); subscribers get committed events in order.

Events reach listeners strictly in sequence order, each once. With several processes on one
store, this process's own commits and the events the log follower reads (those of the other
processes) meet here: an event whose predecessors have not been applied yet is not applied
now; the follower is asked to catch up from the log, which applies it in its place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from feedserver.alerts.model import Alert
from feedserver.store.base import Event

Listener = Callable[[Alert, Event | None], None]


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
        self.last_seq = 0  # the last event applied here
        # Set by a log follower: called when an event arrives ahead of its predecessors.
        self.on_gap: Callable[[], None] | None = None
        self._advanced = asyncio.Event()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, alert: Alert, event: Event | None) -> None:
        """Tell everyone that `alert` changed; `event` is set when screens must hear of it."""
        if event is None:
            self._notify(alert, None)
        elif event.seq <= self.last_seq:
            return  # applied already: the follower read it from the log first
        elif event.seq > self.last_seq + 1 and self.on_gap is not None:
            self.on_gap()  # the follower applies it after the events before it
        else:
            self.apply(event)

    def apply(self, event: Event) -> None:
        """Apply the next event of the log (or, without a follower, any committed event)."""
        if event.seq <= self.last_seq:
            return
        self.last_seq = event.seq
        self._notify(event.alert, event)
        self._advanced.set()
        self._advanced = asyncio.Event()

    def _notify(self, alert: Alert, event: Event | None) -> None:
        for listener in self._listeners:
            listener(alert, event)
        if event is not None:
            for subscription in self._subscriptions:
                subscription.queue.put_nowait(event)

    async def reached(self, seq: int) -> None:
        """Wait until the event `seq` has been applied here (a writer reads its own writes)."""
        while self.last_seq < seq:
            await self._advanced.wait()

    def subscribe(self) -> Subscription:
        """Start receiving committed events now; close the subscription when done."""
        subscription = Subscription(self)
        self._subscriptions.add(subscription)
        return subscription
