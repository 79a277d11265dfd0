"""The bus applies events in sequence order, each once, wherever they come from."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from feedserver.alerts.model import Alert
from feedserver.events import EventBus
from feedserver.store.base import Event


def event(seq: int) -> Event:
    return Event(seq, "alert.updated", datetime(2026, 12, 1, tzinfo=UTC),
                 Alert.from_document({"id": "a_1", "version": seq, "status": "active"}))


async def test_an_event_ahead_of_the_log_waits_for_the_follower_and_is_applied_once():
    bus = EventBus()
    bus.last_seq = 1
    seen: list[int] = []
    bus.add_listener(lambda alert, e: seen.append(e.seq))
    gaps: list[int] = []
    bus.on_gap = lambda: gaps.append(bus.last_seq)

    bus.emit(event(3).alert, event(3))  # ahead: another process wrote 2
    assert seen == [] and gaps == [1]
    waiting = asyncio.create_task(bus.reached(3))
    await asyncio.sleep(0)
    assert not waiting.done()

    for seq in (2, 3):  # the follower reads 2 and 3 from the log
        bus.apply(event(seq))
    await asyncio.wait_for(waiting, 5)
    bus.emit(event(3).alert, event(3))  # the writer's own emit, late: already applied
    bus.apply(event(2))                 # a second read of the log
    assert seen == [2, 3]


async def test_without_a_follower_every_committed_event_is_applied():
    bus = EventBus()
    seen: list[int] = []
    bus.add_listener(lambda alert, e: seen.append(e.seq))
    bus.emit(event(5).alert, event(5))  # a single process starting on an existing log
    await asyncio.wait_for(bus.reached(5), 5)
    assert seen == [5]
