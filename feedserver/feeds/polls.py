"""The lean poll path: a screen's repeat poll answered ahead of aiohttp's router.

A screen polls the same URL with the same credentials every 30 s, and each poll used to cost
the router, the middleware chain, the route's access check (a key digest), the query parsed,
the place worked out and the `on_response_prepare` hooks, for the same answer each time: a 304
cost 1.9x a bare aiohttp handler's (bench/RESULTS.md). So the first poll of a URL takes the
normal route, and when it got through (access granted, query valid), `KnownPolls` remembers
what it came to: network, profile, place, screen, and the route (for the metrics). The next
GET of exactly that path and query with exactly that `Authorization` is answered by
`KnownPolls.ahead_of`, which sits in front of the application's own request handler (see
`feedserver.serving`): routing, middlewares and hooks are skipped, nothing else.

Every rule of the normal path still holds because both paths answer through
`KnownPolls.answer`: the document of the place at the time of the request (alerts change,
places do not), the receipt of a named screen, ETag and 304, the cache, `nosniff` and signature
headers, the poll and the answer counted in the metrics. Access cannot drift: a config reload
(which may withdraw a key or a profile) forgets every remembered poll, and the per-address rate
limit is taken on both paths. What is not remembered goes the normal way: a first poll, any
error (nothing is remembered before access and the query are checked), HEAD, a request with a
cookie (a console session may stand for the credentials), a poll over the rate limit (so that
its 429 has the normal shape), and a poll whose lean answer failed unexpectedly (the route's
error handling gives the contract's error if the route fails too).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from aiohttp import web

from feedserver.config import Network, Profile
from feedserver.errors import ApiError
from feedserver.feeds.document import FeedCache
from feedserver.feeds.receipts import ReceiptBook
from feedserver.geo.reach import Place
from feedserver.http import NO_SNIFFING, etag_matches
from feedserver.limits.requests import RequestLimits
from feedserver.ops.metrics import Metrics
from feedserver.signing.jws import HEADER as JWS_HEADER
from feedserver.signing.jws import Signatures

CACHING = {"Cache-Control": "private, no-cache", "Vary": "Authorization"}
JSON_TYPE = {"Content-Type": "application/json; charset=utf-8"}
# on both paths (the normal path's `on_response_prepare` would add `nosniff`; the lean one
# runs no hooks)
POLL_HEADERS = {**CACHING, **NO_SNIFFING}
# Distinct (URL, credentials) pairs remembered per process: one per screen (its screen id is in
# its URL). When full, the oldest are forgotten and take the normal path once more.
MAX_KNOWN_POLLS = 32_768

log = logging.getLogger(__name__)

RequestHandler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class Poll(NamedTuple):
    """What a screen's poll URL and credentials came to on the normal path."""

    network: Network
    profile: Profile
    place: Place
    screen: str | None
    route: web.AbstractRoute  # the feed route, which the metrics count answers by


class KnownPolls:
    """Polls that got through the normal route, by (path with query, Authorization), and the
    one way both paths answer them."""

    def __init__(self, feeds: FeedCache, receipts: ReceiptBook, limits: RequestLimits,
                 signatures: Signatures, metrics: Metrics,
                 limit: int = MAX_KNOWN_POLLS) -> None:
        self.feeds = feeds
        self.receipts = receipts
        self.limits = limits
        self.signatures = signatures
        self.metrics = metrics
        self.limit = limit
        self._known: dict[tuple[str, str | None], Poll] = {}

    def __len__(self) -> int:
        return len(self._known)

    def remember(self, request: web.Request, poll: Poll) -> None:
        """Called by the route once access and the query have been checked."""
        key = _key(request)
        if key is None:
            return
        known = self._known
        if key not in known and len(known) >= self.limit:
            del known[next(iter(known))]
        known[key] = poll

    def forget_all(self, config: object = None) -> None:
        """After a config reload: every poll takes the normal route (and its checks) again."""
        self._known.clear()

    def get(self, request: web.BaseRequest) -> Poll | None:
        key = _key(request)
        return None if key is None else self._known.get(key)

    def answer(self, request: web.BaseRequest, poll: Poll) -> web.Response:
        """The feed document for this poll now: 304 when the screen has it, else 200, signed;
        a named screen's receipt recorded either way."""
        network, profile = poll.network, poll.profile
        self.metrics.poll(network.id, profile.id)
        document = self.feeds.document(network, profile, poll.place)
        if poll.screen is not None:
            self.receipts.record(network.id, profile.id, poll.screen, document.receipt_keys)
        # screens without an id spread their polls by address (behind a proxy, the client's)
        body, etag = document.variant(poll.screen or self.limits.client(request))
        if etag_matches(request, etag):
            return web.Response(status=304, headers={**POLL_HEADERS, "ETag": etag})
        signature = self.signatures.header(body, etag)
        return web.Response(body=body, headers={**POLL_HEADERS, "ETag": etag, **JSON_TYPE,
                                                JWS_HEADER: signature})

    def ahead_of(self, route_request: RequestHandler) -> RequestHandler:
        """The server's request handler: a known poll answered here, anything else by
        `route_request` (the application's router, middlewares and route)."""
        limits, metrics = self.limits, self.metrics

        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            poll = self.get(request)
            if poll is None:
                return await route_request(request)
            try:
                limits.check(request)  # as the route's access wrapper does
                response = self.answer(request, poll)
            except ApiError:  # over the rate limit: the route answers it in the usual shape
                return await route_request(request)
            except Exception:  # a surprise: the route answers, or gives the contract's error
                log.exception("the lean poll path failed on %s; the route answers", request.path)
                return await route_request(request)
            metrics.count(poll.route, response.status)
            return response

        return handle


def _key(request: web.BaseRequest) -> tuple[str, str | None] | None:
    """What a poll is remembered by: its path with query and its credentials; None for what
    is never remembered (not a GET, or with a cookie, which may stand for a console session)."""
    headers = request.headers
    if request.method != "GET" or "Cookie" in headers:
        return None
    return request.raw_path, headers.get("Authorization")
