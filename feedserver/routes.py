"""The flat routes table: every endpoint of the server, in the order of API.md."""

from __future__ import annotations

from aiohttp import web

from feedserver import meta_views as meta
from feedserver import photo_views as photos
from feedserver.alerts import views as alerts
from feedserver.console.api import API_ROUTES as CONSOLE_API_ROUTES
from feedserver.console.views import CONSOLE_ROUTES
from feedserver.feeds import views as feeds
from feedserver.interop.views import INTEROP_ROUTES
from feedserver.push import deliveries, player, sse, ws
from feedserver.render.views import RENDER_ROUTES

ALERT = "/v1/alerts/{alert_id}"
FEED = "/v1/feeds/{network}/{profile}"

ROUTES = [
    web.get("/healthz", meta.healthz),
    web.get("/v1/openapi.yaml", meta.openapi),
    web.get("/v1/alerts", alerts.list_alerts),
    web.post("/v1/alerts", alerts.create_alert),
    web.get(ALERT, alerts.get_alert),
    web.patch(ALERT, alerts.patch_alert),
    web.post(ALERT + "/publish", alerts.publish_alert),
    web.post(ALERT + "/resolve", alerts.resolve_alert),
    web.post(ALERT + "/cancel", alerts.cancel_alert),
    web.get(ALERT + "/history", alerts.alert_history),
    web.get(ALERT + "/receipts", alerts.alert_receipts),
    web.post("/v1/photos", photos.upload_photo),
    web.get("/v1/photos/{photo_id}", photos.get_photo),
    web.get(FEED, feeds.feed_document),
    *INTEROP_ROUTES,
    *RENDER_ROUTES,
    web.get(FEED + "/events", sse.events),
    web.get(FEED + "/ws", ws.websocket),
    web.get(FEED + "/player", player.player),
    web.get("/v1/networks/{network}/deliveries", deliveries.list_deliveries),
    *CONSOLE_API_ROUTES,
    *CONSOLE_ROUTES,
]
