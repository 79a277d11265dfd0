"""The application factory: a validated config in, an aiohttp Application out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from typing import Any

from aiohttp import web

from feedserver.alerts.clock import run_expiry_clock
from feedserver.alerts.service import AlertService
from feedserver.appkeys import (
    ALERTS,
    CONFIG,
    CREDENTIALS,
    EVENTS,
    FEEDS,
    POOL,
    PUSH_SETTINGS,
    RECEIPTS,
    STORE,
    WEBHOOK_SETTINGS,
)
from feedserver.auth import Credentials
from feedserver.cluster import cluster_ctx, leader_duty
from feedserver.config import Config
from feedserver.errors import error_middleware
from feedserver.events import EventBus
from feedserver.feeds.document import FeedCache
from feedserver.feeds.receipts import ReceiptBook
from feedserver.interop.views import interop_ctx
from feedserver.photos import MAX_BYTES
from feedserver.push import webhooks
from feedserver.push.context import close_push_clients, push_ctx, webhooks_ctx
from feedserver.push.fanout import PushSettings
from feedserver.render.service import render_ctx
from feedserver.routes import ROUTES
from feedserver.store.sqlite import SQLiteStore
from feedserver.timeutil import utcnow

log = logging.getLogger(__name__)

POOL_WORKERS = 2


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    store = SQLiteStore(app[CONFIG].sqlite_path, webhooks.targets(app[CONFIG]))
    await store.open()
    app[STORE] = store
    yield
    await store.close()


async def _pool_ctx(app: web.Application) -> AsyncIterator[None]:
    """Workers come from a fork server: a worker forked from this process on demand would
    inherit its sockets and pipes and keep clients' connections open after it is gone."""
    context = multiprocessing.get_context("forkserver")
    # the fork server imports the renderer once; every worker starts with it loaded
    context.set_forkserver_preload(["feedserver.render.creative"])
    pool = ProcessPoolExecutor(max_workers=POOL_WORKERS, mp_context=context)
    app[POOL] = pool
    yield
    pool.shutdown(wait=True, cancel_futures=True)


async def _domain_ctx(app: web.Application) -> AsyncIterator[None]:
    """The alert service and what derives from it: feed documents and receipts."""
    clock: Callable[[], datetime] = utcnow
    bus = app[EVENTS]
    app[ALERTS] = AlertService(app[STORE], app[CONFIG].alerts, bus, clock)
    feeds = FeedCache(app[CONFIG], clock)
    await feeds.load(app[STORE])
    bus.add_listener(feeds.on_change)
    app[FEEDS] = feeds
    app[RECEIPTS] = ReceiptBook(app[STORE], clock)
    yield
    await app[RECEIPTS].flush()


def _background(name: str, make: Callable[[web.Application], Coroutine[Any, Any, None]]):
    """A cleanup_ctx that runs a task for the app's lifetime and cancels it at shutdown."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(make(app), name=name)
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


def create_app(config: Config) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BYTES + 1024)
    app[CONFIG] = config
    app[CREDENTIALS] = Credentials(config)
    app[EVENTS] = EventBus()
    app[PUSH_SETTINGS] = PushSettings()
    app[WEBHOOK_SETTINGS] = webhooks.WebhookSettings()
    app.cleanup_ctx.extend([
        _store_ctx,
        cluster_ctx,
        _pool_ctx,
        _domain_ctx,
        render_ctx,
        leader_duty("expiry-clock", lambda a: run_expiry_clock(a[ALERTS], a[EVENTS])),
        _background("receipts", lambda a: a[RECEIPTS].run()),
        interop_ctx,
        push_ctx,
        webhooks_ctx,
    ])
    app.on_shutdown.append(close_push_clients)
    app.router.add_routes(ROUTES)
    return app
