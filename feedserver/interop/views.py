"""HTTP endpoints for CAP in and out, and the Atom and Media RSS feeds of each profile."""

from __future__ import annotations

from aiohttp import web

from feedserver.alerts.model import Alert
from feedserver.alerts.service import alert_etag
from feedserver.appkeys import ALERTS, CAP_INGEST, FEEDS, STORE, SYNDICATION
from feedserver.auth import ACTOR
from feedserver.errors import ApiError, FieldError
from feedserver.feeds.views import CACHING, screen_view
from feedserver.formats import body_etag
from feedserver.http import etag_matches, json_response, read_body
from feedserver.interop.atom import atom_feed
from feedserver.interop.cap_ingest import ingest_cap
from feedserver.interop.cap_out import photo_paths
from feedserver.interop.capservice import build_cap
from feedserver.interop.capxml import CapError
from feedserver.interop.mrss import rss_feed
from feedserver.interop.syndication import Builder
from feedserver.interop.vocabulary import CAP_CONTENT_TYPE

CAP_IN_TYPES = ("application/cap+xml", "application/xml", "text/xml", "application/atom+xml")
# libxml2 refuses text nodes over 10 MB without huge_tree, which caps an embedded photo anyway.
MAX_CAP_BYTES = 10 * 1024 * 1024
CAP_CODES = {400: "malformed_cap", 404: "not_found", 422: "invalid_cap"}
# Short, so a cancelled alert's photo also leaves caches soon.
PHOTO_MAX_AGE = 60


def _cap_response(request: web.Request, body: bytes) -> web.Response:
    """The message with a strong ETag: a player polling it gets 304 until the alert changes."""
    headers = {**CACHING, "ETag": body_etag(body)}
    if etag_matches(request, headers["ETag"]):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=CAP_CONTENT_TYPE, charset="utf-8",
                        headers=headers)


def _not_purged(alert: Alert) -> Alert:
    """A purged alert has no CAP message: what it said is gone with the child's data."""
    if alert.is_purged:
        raise ApiError(404, "purged", f"alert {alert.id}: its data was purged at "
                                      f"{alert.purged_at}")
    return alert


async def alert_cap(request: web.Request) -> web.Response:
    """GET /v1/alerts/{id}/cap.xml (viewer): any alert, drafts as `status Draft`."""
    alert = _not_purged(await request.app[ALERTS].get(request.match_info["alert_id"]))
    return _cap_response(request, await build_cap(request.app[SYNDICATION].sources, alert))


async def screen_cap(request: web.Request) -> web.Response:
    """GET /v1/cap/{id}.xml (any network key or staff token): published alerts only."""
    alert = _not_purged(await request.app[ALERTS].get(request.match_info["alert_id"]))
    if alert.status == "draft" and ACTOR not in request:
        raise ApiError(404, "not_found", f"alert {alert.id} not found")
    return _cap_response(request, await build_cap(request.app[SYNDICATION].sources, alert))


async def cap_photo(request: web.Request) -> web.Response:
    """GET /v1/cap/{id}/photos/{photo} (no credentials): a photo a CAP resource points at,
    served only while its alert is on screens (active, or its "found" card until it ends),
    like creatives."""
    alert = await request.app[ALERTS].get(request.match_info["alert_id"])
    photo_id = request.match_info["photo_id"]
    shown = request.app[FEEDS].shows(alert) and \
        photo_id in {shown_id for _, shown_id in photo_paths(alert)}
    photo = await request.app[STORE].get_photo(photo_id) if shown else None
    if photo is None:
        raise ApiError(404, "not_found", "photo not found")
    return web.Response(body=photo.data, content_type=photo.content_type,
                        headers={"Cache-Control": f"public, max-age={PHOTO_MAX_AGE}"})


async def ingest(request: web.Request) -> web.Response:
    """POST /v1/ingest/cap (publisher): Alert → draft (201); Update/Cancel → changed alert."""
    actor = request[ACTOR]
    if request.content_type not in CAP_IN_TYPES:
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type must be one of {', '.join(CAP_IN_TYPES)}")
    body = await read_body(request, MAX_CAP_BYTES)
    try:
        outcome = await ingest_cap(request.app[CAP_INGEST], body, actor)
    except CapError as exc:
        raise ApiError(exc.status, CAP_CODES.get(exc.status, "invalid_cap"), exc.message,
                       [FieldError(place, message) for place, message in exc.details]) from exc
    alert = outcome.alert
    if outcome.created:
        return json_response(alert.to_document(), status=201, headers={
            "Location": f"/v1/alerts/{alert.id}", "ETag": alert_etag(alert)})
    return json_response(alert.to_document(), headers={"ETag": alert_etag(alert)})


def _syndicated(kind: str, build: Builder, content_type: str):
    async def view(request: web.Request) -> web.Response:
        asked = screen_view(request)
        feed = await request.app[SYNDICATION].get(asked.network, asked.profile, asked.document,
                                                   kind, build)
        headers = {**CACHING, "ETag": feed.etag}
        if etag_matches(request, feed.etag):
            return web.Response(status=304, headers=headers)
        return web.Response(body=feed.body, content_type=content_type, charset="utf-8",
                            headers=headers)

    view.__name__ = f"{kind}_feed"
    view.__doc__ = f"GET /v1/feeds/{{network}}/{{profile}}/{kind} (network key)"
    return view


atom = _syndicated("atom", atom_feed, "application/atom+xml")
rss = _syndicated("rss", rss_feed, "application/rss+xml")
