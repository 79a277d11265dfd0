"""Screen feed endpoints: the feed document per profile, with ETag and receipts."""

from __future__ import annotations

from aiohttp import web

from feedserver.appkeys import CONFIG, CREDENTIALS, FEEDS, RECEIPTS
from feedserver.config import Network, Profile
from feedserver.errors import not_found
from feedserver.http import screen_facts


def screen_profile(request: web.Request) -> tuple[Network, Profile]:
    """The network and profile in the path, after checking the caller may read them."""
    network = request.app[CONFIG].network(request.match_info["network"])
    if network is None:
        raise not_found(f"network {request.match_info['network']}")
    request.app[CREDENTIALS].screen_access(request, network)
    profile = network.profile(request.match_info["profile"])
    if profile is None:
        raise not_found(f"profile {request.match_info['profile']}")
    return network, profile


def etag_matches(request: web.Request, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    return header.strip() == "*" or etag in (t.strip() for t in header.split(","))


async def feed_document(request: web.Request) -> web.Response:
    network, profile = screen_profile(request)
    screen, region = screen_facts(request)
    document = request.app[FEEDS].document(network, profile, region)
    if screen is not None:
        request.app[RECEIPTS].record(network.id, profile.id, screen,
                                     ((e["id"], e["version"]) for e in document.entries))
    body, etag = document.variant(screen or request.remote or "")
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}
    if etag_matches(request, etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", charset="utf-8",
                        headers=headers)
