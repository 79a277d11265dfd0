"""Screen feed endpoints: the feed document per profile, with ETag and receipts."""

from __future__ import annotations

from typing import NamedTuple

from aiohttp import web

from feedserver.appkeys import FEEDS, METRICS, RECEIPTS, SIGNATURES
from feedserver.auth import NETWORK
from feedserver.config import Network, Profile
from feedserver.errors import not_found
from feedserver.feeds.document import FeedDocument
from feedserver.geo.reach import Place, screen_place
from feedserver.http import etag_matches, screen_facts
from feedserver.signing.jws import HEADER as JWS_HEADER

CACHING = {"Cache-Control": "private, no-cache", "Vary": "Authorization"}
JSON_TYPE = {"Content-Type": "application/json; charset=utf-8"}


def screen_profile(request: web.Request) -> tuple[Network, Profile]:
    """The network and profile in the path (the route's `network_key` checked the network)."""
    network = request[NETWORK]
    profile = network.profile(request.match_info["profile"])
    if profile is None:
        raise not_found(f"profile {request.match_info['profile']}")
    return network, profile


class ScreenView(NamedTuple):
    network: Network
    profile: Profile
    place: Place
    screen: str | None
    document: FeedDocument


def screen_view(request: web.Request) -> ScreenView:
    """What a screen's request for any of its profile's feeds comes to: access checked, its
    `screen`, `region` and `at` read, its document found and a receipt recorded."""
    network, profile = screen_profile(request)
    facts = screen_facts(request)
    place = screen_place(profile, facts.at, facts.region)
    app = request.app
    app[METRICS].poll(network.id, profile.id)
    document = app[FEEDS].document(network, profile, place)
    if facts.screen is not None:
        app[RECEIPTS].record(network.id, profile.id, facts.screen, document.receipt_keys)
    return ScreenView(network, profile, place, facts.screen, document)


async def feed_document(request: web.Request) -> web.Response:
    """The hot path of the whole server: a dictionary lookup and a few header comparisons."""
    view = screen_view(request)
    body, etag = view.document.variant(view.screen or request.remote or "")
    if etag_matches(request, etag):
        return web.Response(status=304, headers={**CACHING, "ETag": etag})
    signature = request.app[SIGNATURES].header(body, etag)
    return web.Response(body=body, headers={**CACHING, "ETag": etag, **JSON_TYPE,
                                            JWS_HEADER: signature})
