"""Screen feed endpoints: the feed document per profile, with ETag and receipts."""

from __future__ import annotations

from typing import NamedTuple

from aiohttp import web

from feedserver.appkeys import FEEDS, METRICS, POLLS, RECEIPTS
from feedserver.auth import NETWORK
from feedserver.config import Network, Profile
from feedserver.errors import not_found
from feedserver.feeds.document import FeedDocument
from feedserver.feeds.polls import CACHING, Poll
from feedserver.geo.reach import Place, screen_place
from feedserver.http import screen_facts

__all__ = ["CACHING", "ScreenView", "feed_document", "screen_profile", "screen_view"]


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
    """The hot path of the whole server, its first poll of a URL: what the URL comes to is
    checked here and remembered, so that the screen's next polls take the lean path
    (`feedserver.feeds.polls`)."""
    network, profile = screen_profile(request)
    facts = screen_facts(request)
    poll = Poll(network, profile, screen_place(profile, facts.at, facts.region), facts.screen,
                request.match_info.route)
    known = request.app[POLLS]
    known.remember(request, poll)
    return known.answer(request, poll)
