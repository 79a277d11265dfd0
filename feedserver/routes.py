"""The flat routes table: every endpoint of the server, in the order of API.md, each with the
access it needs (see `feedserver.auth`), checked before its handler runs."""

from __future__ import annotations

from aiohttp import web

from feedserver import meta_views as meta
from feedserver import photo_views as photos
from feedserver.alerts import views as alerts
from feedserver.auth import any_key, network_key, public, staff
from feedserver.console import api as console_api
from feedserver.console import views as console
from feedserver.console.sessions import signed_in
from feedserver.feeds import creative_views as renders
from feedserver.feeds import views as feeds
from feedserver.interop import views as interop
from feedserver.ops import metrics_views
from feedserver.push import deliveries, player, sse, ws

ALERT = "/v1/alerts/{alert_id}"
FEED = "/v1/feeds/{network}/{profile}"
PREVIEW = ALERT + "/preview/{network}/{profile}"

ROUTES = [
    web.get("/healthz", public(meta.healthz)),
    web.get("/v1/openapi.yaml", public(meta.openapi)),
    web.get("/v1/keys", public(meta.keys)),
    # Prometheus; or, when `metrics.listen` is set, also on that port without a token
    web.get("/metrics", staff("admin", metrics_views.metrics)),
    web.get("/v1/alerts", staff("viewer", alerts.list_alerts)),
    web.post("/v1/alerts", staff("editor", alerts.create_alert)),
    web.get(ALERT, staff("viewer", alerts.get_alert)),
    # an editor edits drafts; the service asks for a publisher when the alert is active
    web.patch(ALERT, staff("editor", alerts.patch_alert)),
    web.post(ALERT + "/publish", staff("publisher", alerts.publish_alert)),
    web.post(ALERT + "/resolve", staff("publisher", alerts.resolve_alert)),
    web.post(ALERT + "/cancel", staff("publisher", alerts.cancel_alert)),
    web.get(ALERT + "/history", staff("viewer", alerts.alert_history)),
    web.get(ALERT + "/receipts", staff("viewer", alerts.alert_receipts)),
    web.post("/v1/photos", staff("editor", photos.upload_photo)),
    web.get("/v1/photos/{photo_id}", staff("viewer", photos.get_photo)),
    web.get(FEED, network_key(feeds.feed_document)),
    web.post("/v1/ingest/cap", staff("publisher", interop.ingest)),
    web.get(ALERT + "/cap.xml", staff("viewer", interop.alert_cap)),
    web.get("/v1/cap/{alert_id}.xml", any_key(interop.screen_cap)),
    # a photo a CAP resource points at, only while its alert is on screens
    web.get("/v1/cap/{alert_id}/photos/{photo_id}", public(interop.cap_photo)),
    web.get(FEED + "/atom", network_key(interop.atom)),
    web.get(FEED + "/rss", network_key(interop.rss)),
    # creatives are named by a digest of their content: unguessable, cacheable forever
    web.get("/v1/renders/{digest}.{ext}", public(renders.creative_by_digest)),
    web.get(FEED + "/current.{ext}", network_key(renders.current_creative)),
    web.get(PREVIEW + ".{ext}", staff("viewer", renders.preview_creative)),
    web.get(PREVIEW, staff("viewer", renders.preview_report)),
    web.get(FEED + "/events", network_key(sse.events)),
    web.get(FEED + "/ws", network_key(ws.websocket)),
    web.get(FEED + "/player", network_key(player.player)),
    # the player page's script and style: public like the page's own markup
    web.get("/v1/player/{name}", public(player.static)),
    web.get("/v1/networks/{network}/deliveries", staff("admin", deliveries.list_deliveries)),
    # the staff console's API calls (nothing is written) and its pages
    web.post("/v1/alerts/validate", staff("viewer", console_api.validate_alert)),
    web.post("/v1/previews", staff("viewer", console_api.preview_alert)),
    web.get("/v1/previews/{digest}.{ext}", staff("viewer", console_api.preview_image)),
    web.get("/console", signed_in(console.alerts_page)),
    web.get("/console/sign-in", public(console.sign_in_page)),
    web.post("/console/sign-in", public(console.sign_in)),
    # needs the page's CSRF token when signed in; signing out without a session is harmless
    web.post("/console/sign-out", public(console.sign_out)),
    web.get("/console/alerts/new", signed_in(console.new_alert_page)),
    web.get("/console/alerts/{alert_id}", signed_in(console.alert_page)),
    web.get("/console/static/{name}", public(console.static)),
]
