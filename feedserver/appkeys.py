"""Typed keys for the application's shared state."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

from aiohttp import web

from feedserver.alerts.service import AlertService
from feedserver.auth import Credentials
from feedserver.config import Config
from feedserver.events import EventBus
from feedserver.feeds.document import FeedCache
from feedserver.feeds.receipts import ReceiptBook
from feedserver.interop.trust import CapTrust
from feedserver.push.fanout import Hub, PushSettings
from feedserver.push.webhooks import WebhookSettings
from feedserver.signing.keys import KeyRing
from feedserver.store.base import Store

CONFIG = web.AppKey("config", Config)
CREDENTIALS = web.AppKey("credentials", Credentials)
STORE = web.AppKey("store", Store)
EVENTS = web.AppKey("events", EventBus)
ALERTS = web.AppKey("alerts", AlertService)
FEEDS = web.AppKey("feeds", FeedCache)
RECEIPTS = web.AppKey("receipts", ReceiptBook)
POOL = web.AppKey("pool", ProcessPoolExecutor)
HUB = web.AppKey("hub", Hub)
PUSH_SETTINGS = web.AppKey("push_settings", PushSettings)
WEBHOOK_SETTINGS = web.AppKey("webhook_settings", WebhookSettings)
SIGNING_KEYS = web.AppKey("signing_keys", KeyRing)
CAP_TRUST = web.AppKey("cap_trust", CapTrust)
