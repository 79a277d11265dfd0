"""Typed keys for the application's shared state, all in one place.

This module imports no service (their types are named for the type checker only), so any
view can import it without pulling in the parts it does not use. The services are built and
wired in `feedserver.app.create_app`; views reach the one they need through its key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from feedserver.alerts.service import AlertService
    from feedserver.auth import Credentials
    from feedserver.events import EventBus
    from feedserver.feeds.creatives import RenderService
    from feedserver.feeds.document import FeedCache
    from feedserver.feeds.polls import KnownPolls
    from feedserver.feeds.receipts import ReceiptBook
    from feedserver.interop.cap_ingest import IngestSources
    from feedserver.interop.syndication import Syndication
    from feedserver.interop.upstream import Poller
    from feedserver.limits.requests import RequestLimits
    from feedserver.liveconfig import LiveConfig
    from feedserver.ops.metrics import Metrics
    from feedserver.push.fanout import Hub
    from feedserver.render.pool import WorkerPool
    from feedserver.signing.jws import Signatures
    from feedserver.signing.keys import KeyRing
    from feedserver.store.base import Store

CONFIG: web.AppKey[LiveConfig] = web.AppKey("config")  # `.current`: the config in force
CREDENTIALS: web.AppKey[Credentials] = web.AppKey("credentials")
STORE: web.AppKey[Store] = web.AppKey("store")
EVENTS: web.AppKey[EventBus] = web.AppKey("events")
ALERTS: web.AppKey[AlertService] = web.AppKey("alerts")
FEEDS: web.AppKey[FeedCache] = web.AppKey("feeds")
RECEIPTS: web.AppKey[ReceiptBook] = web.AppKey("receipts")
POLLS: web.AppKey[KnownPolls] = web.AppKey("polls")
POOL: web.AppKey[WorkerPool] = web.AppKey("pool")
RENDERER: web.AppKey[RenderService] = web.AppKey("renderer")
HUB: web.AppKey[Hub] = web.AppKey("hub")
SYNDICATION: web.AppKey[Syndication] = web.AppKey("syndication")
CAP_INGEST: web.AppKey[IngestSources] = web.AppKey("cap_ingest")
POLLERS: web.AppKey[dict[str, Poller]] = web.AppKey("upstream_pollers")
SIGNING_KEYS: web.AppKey[KeyRing] = web.AppKey("signing_keys")
SIGNATURES: web.AppKey[Signatures] = web.AppKey("signatures")
LIMITS: web.AppKey[RequestLimits] = web.AppKey("limits")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
