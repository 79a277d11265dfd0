"""The application factory: a validated config in, an aiohttp Application out.

Every service is built here and handed what it needs; `cleanup_ctx` only opens and closes
resources and runs the background tasks. The clock is an input, so tests can move time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web

from feedserver.alerts.clock import run_expiry_clock
from feedserver.alerts.service import AlertService
from feedserver.appkeys import (
    ALERTS,
    CAP_INGEST,
    CONFIG,
    CREDENTIALS,
    EVENTS,
    FEEDS,
    HUB,
    LIMITS,
    METRICS,
    POLLERS,
    POLLS,
    POOL,
    RECEIPTS,
    RENDERER,
    SIGNATURES,
    SIGNING_KEYS,
    STORE,
    SYNDICATION,
)
from feedserver.auth import Credentials
from feedserver.cluster import Cluster
from feedserver.config import Config
from feedserver.console.api import SHELF, PreviewShelf
from feedserver.console.sessions import SESSIONS, Sessions, session_middleware
from feedserver.errors import error_middleware
from feedserver.events import EventBus
from feedserver.feeds.creatives import RenderService
from feedserver.feeds.document import FeedCache
from feedserver.feeds.polls import KnownPolls
from feedserver.feeds.receipts import ReceiptBook
from feedserver.http import no_sniffing
from feedserver.interop.cap_ingest import IngestSources
from feedserver.interop.capservice import DocumentSources
from feedserver.interop.fetching import FetchRules
from feedserver.interop.syndication import Syndication
from feedserver.interop.trust import load_trust
from feedserver.interop.upstream import run_pollers, upstream_pollers
from feedserver.lifecycle import Stopping
from feedserver.limits.requests import RequestLimits
from feedserver.liveconfig import LiveConfig
from feedserver.ops.metrics import Metrics
from feedserver.photos import MAX_BYTES
from feedserver.push import webhooks
from feedserver.push.fanout import Hub
from feedserver.render.pool import WorkerPool
from feedserver.render.warm import warm_up
from feedserver.routes import ROUTES
from feedserver.signing.jws import Signatures
from feedserver.signing.keys import ring_of
from feedserver.store import make_store
from feedserver.store.base import StoreUnavailable
from feedserver.tasks import running
from feedserver.timeutil import Clock, utcnow

Ctx = Callable[[web.Application], AsyncIterator[None]]


def create_app(config: Config, *, clock: Clock = utcnow) -> web.Application:
    """The server for `config`; `clock` is what every part reads the time from.

    Parts that look up networks, profiles, keys or staff are handed `live`, the holder of the
    config in force, so a reload (SIGHUP) reaches them; see `feedserver.liveconfig`.
    """
    # A screen's repeat polls are answered ahead of the router and these middlewares, by
    # app[POLLS] (see feedserver.feeds.polls and feedserver.serving).
    app = web.Application(middlewares=[error_middleware(StoreUnavailable), session_middleware],
                          client_max_size=MAX_BYTES + 1024)
    bus = EventBus()
    signing_keys = ring_of(config)  # read, or made on first start, before anything is served
    signatures = Signatures(signing_keys)
    live = LiveConfig(config)
    store = make_store(config.storage, config.sqlite_path, webhooks.targets(live), clock)
    metrics = Metrics(config, clock)
    metrics.time_store(store)
    pool = WorkerPool(config.render.workers, config.render.worker_memory_mb << 20, warm_up)
    alerts = AlertService(store, config.alerts, bus, clock)
    feeds = FeedCache(config, clock)
    receipts = ReceiptBook(store, clock, config.limits.screens_per_network)
    renderer = RenderService(live, store, pool, clock, metrics.rendered)
    metrics.watch(store, receipts, renderer, pool)
    feeds.render_urls = renderer.urls
    cluster = Cluster(store, bus)
    stopping = Stopping(config.server.shutdown_grace_seconds)
    live.subscribe(feeds.reconfigure)
    live.subscribe(renderer.reconfigure)
    app[CONFIG] = live
    app[CREDENTIALS] = Credentials(live)
    app[LIMITS] = limits = RequestLimits(config.limits, clock)
    app[EVENTS] = bus
    app[STORE] = store
    app[POOL] = pool
    app[ALERTS] = alerts
    app[FEEDS] = feeds
    app[RECEIPTS] = receipts
    app[POLLS] = polls = KnownPolls(feeds, receipts, limits, signatures, metrics)
    live.subscribe(polls.forget_all)  # a reload may withdraw what a remembered poll had
    app[RENDERER] = renderer
    app[SIGNING_KEYS] = signing_keys
    app[SIGNATURES] = signatures
    app[METRICS] = metrics
    sources = DocumentSources(config, store, signing_keys, feeds, clock)
    app[SYNDICATION] = Syndication(sources)
    app[CAP_INGEST] = IngestSources(config, alerts, store, pool, load_trust(config.cap_ingest))
    app[SESSIONS] = Sessions(live)
    app[SHELF] = shelf = PreviewShelf()
    bus.add_listener(shelf.on_change)  # a purge leaves no tile of the child

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        await store.open()
        yield
        await store.close()

    async def pool_ctx(app: web.Application) -> AsyncIterator[None]:
        yield
        pool.close()

    async def feeds_ctx(app: web.Application) -> AsyncIterator[None]:
        """Feed documents mirror the visible alerts; receipts are flushed at the end."""
        await feeds.load(store)
        bus.add_listener(feeds.on_change)
        bus.add_listener(receipts.on_change)
        yield
        await receipts.flush()

    async def render_ctx(app: web.Application) -> AsyncIterator[None]:
        bus.add_listener(renderer.on_change)
        await renderer.start()
        yield
        await renderer.close()

    async def upstream_ctx(app: web.Application) -> AsyncIterator[None]:
        async with upstream_pollers(config.upstreams, alerts, store, pool, clock,
                                    FetchRules.from_config(config),
                                    metrics.upstream_polled) as pollers, \
                cluster.leadership.duty("upstream-pollers", lambda: run_pollers(pollers)):
            app[POLLERS] = pollers
            yield

    async def push_ctx(app: web.Application) -> AsyncIterator[None]:
        hub = Hub(store, feeds, receipts, signatures, config.push, clock, bus.last_seq,
                  config.limits.streams_per_key, config.alerts.poll_after_seconds)
        bus.add_listener(metrics.timed_fanout(hub.on_change))
        live.subscribe(hub.reconfigure)
        stopping.when_stopping(hub.say_goodbye)
        app[HUB] = metrics.hub = hub
        async with running(hub.run_keepalive(), "push-keepalive"):
            yield
        hub.close_all()

    async def webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            senders = webhooks.Webhooks(sources, live, session, config.webhooks,
                                        metrics.webhook_failed)
            bus.add_listener(senders.on_change)
            stopping.when_stopping(senders.stop)
            # the leading process sends; each delivery is claimed from the store as well
            async with cluster.leadership.duty("webhooks", senders.run):
                yield
                await senders.stopped(stopping.remaining())

    app.cleanup_ctx.extend([
        store_ctx,
        cluster.ctx,
        pool_ctx,
        feeds_ctx,
        render_ctx,
        cluster.duty("expiry-clock", lambda: run_expiry_clock(
            alerts, bus, timedelta(seconds=config.privacy.purge_after_seconds))),
        _background("receipts", receipts.run),
        upstream_ctx,
        push_ctx,
        webhooks_ctx,
        metrics.ctx,
    ])
    app.on_shutdown.append(stopping.on_shutdown)
    app.on_response_prepare.extend([no_sniffing, metrics.count_response])
    app.router.add_routes(ROUTES)
    return app


def _background(name: str, make: Callable[[], Coroutine[Any, Any, None]]) -> Ctx:
    """A cleanup_ctx that runs a task for the app's lifetime and cancels it at shutdown."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async with running(make(), name):
            yield

    return ctx
