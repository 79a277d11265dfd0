"""The push parts' lifetimes: the hub with its keepalive timer, and the webhook senders."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import aiohttp
from aiohttp import web

from feedserver.appkeys import (
    CONFIG,
    EVENTS,
    FEEDS,
    HUB,
    PUSH_SETTINGS,
    RECEIPTS,
    STORE,
    WEBHOOK_SETTINGS,
)
from feedserver.cluster import LEADERSHIP
from feedserver.push.fanout import Hub
from feedserver.push.webhooks import Sources, Webhooks


@contextlib.asynccontextmanager
async def _running(coroutine: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    task = asyncio.create_task(coroutine, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def push_ctx(app: web.Application) -> AsyncIterator[None]:
    feeds = app[FEEDS]
    hub = Hub(app[STORE], feeds, app[RECEIPTS], app[PUSH_SETTINGS], feeds.clock,
              app[EVENTS].last_seq)
    app[EVENTS].add_listener(hub.on_change)
    app[HUB] = hub
    async with _running(hub.run_keepalive(), "push-keepalive"):
        yield
    hub.close_all()


async def close_push_clients(app: web.Application) -> None:
    """On shutdown: streams never end by themselves, so end them (screens reconnect)."""
    app[HUB].close_all()


async def webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    sources = Sources(app[CONFIG], app[STORE], app[FEEDS], app[FEEDS].clock)
    async with aiohttp.ClientSession() as session:
        webhooks = Webhooks(sources, session, app[WEBHOOK_SETTINGS])
        app[EVENTS].add_listener(webhooks.on_change)
        # once in total: the leading process sends; the store claims each delivery as well
        async with app[LEADERSHIP].duty("webhooks", webhooks.run):
            yield
