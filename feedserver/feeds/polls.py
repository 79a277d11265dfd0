"""The lean poll path: a screen's repeat poll answered without going through its route again.

A screen polls the same URL with the same credentials every 30 s, and each poll used to cost
the route's access check (a key digest), the query parsed, the place worked out, for the same
answer each time; that was half of what a 304 cost (py-spy, bench/RESULTS.md). So the first
poll of a URL takes the normal route, and when it got through (access granted, query valid),
`KnownPolls` remembers what it came to: network, profile, place, screen. The next GET of
exactly that path and query with exactly that `Authorization` is answered by `lean_polls`,
the innermost middleware, from what was remembered: the route's guard and parsing are
skipped, nothing else.

Every rule of the normal path still holds because both paths answer through `answer_poll`:
the document of the place at the time of the request (alerts change, places do not), the
receipt of a named screen, ETag and 304, the cache and signature headers, the poll counted in
the metrics. Access cannot drift: a config reload (which may withdraw a key or a profile)
forgets every remembered poll, and the per-address rate limit is taken on both paths. What is
not remembered goes
the normal way: a first poll, any error (nothing is remembered before access and the query are
checked), HEAD, a request with a cookie (a console session may stand for the credentials).

Per-request hooks (request counters, error shape, console sessions) are middlewares listed
before `lean_polls` in `create_app`, or run in `on_response_prepare`: they see every poll, lean
or not. The rate limit is taken by the route's access wrapper, and here before a lean answer.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import NamedTuple

from aiohttp import web

from feedserver.appkeys import FEEDS, LIMITS, METRICS, POLLS, RECEIPTS, SIGNATURES
from feedserver.auth import NETWORK
from feedserver.config import Network, Profile
from feedserver.geo.reach import Place
from feedserver.http import Handler, etag_matches
from feedserver.signing.jws import HEADER as JWS_HEADER

CACHING = {"Cache-Control": "private, no-cache", "Vary": "Authorization"}
JSON_TYPE = {"Content-Type": "application/json; charset=utf-8"}
# Distinct (URL, credentials) pairs remembered per process: one per screen (its screen id is in
# its URL). When full, the oldest are forgotten and take the normal path once more.
MAX_KNOWN_POLLS = 32_768


class Poll(NamedTuple):
    """What a screen's poll URL and credentials came to on the normal path."""

    network: Network
    profile: Profile
    place: Place
    screen: str | None


class KnownPolls:
    """Polls that got through the normal route, by (path with query, Authorization)."""

    def __init__(self, limit: int = MAX_KNOWN_POLLS) -> None:
        self.limit = limit
        self._known: dict[tuple[str, str | None], Poll] = {}

    def __len__(self) -> int:
        return len(self._known)

    def remember(self, request: web.Request, poll: Poll) -> None:
        """Called by the route once access and the query have been checked."""
        if request.method != "GET" or "Cookie" in request.headers:
            return
        known = self._known
        if len(known) >= self.limit:
            del known[next(iter(known))]
        known[(request.raw_path, request.headers.get("Authorization"))] = poll

    def forget_all(self, config: object = None) -> None:
        """After a config reload: every poll takes the normal route (and its checks) again."""
        self._known.clear()

    def get(self, request: web.Request) -> Poll | None:
        headers = request.headers
        if request.method != "GET" or "Cookie" in headers:
            return None
        return self._known.get((request.raw_path, headers.get("Authorization")))


async def answer_poll(request: web.Request, poll: Poll) -> web.Response:
    """The feed document for this poll now: 304 when the screen has it, else 200, signed;
    a named screen's receipt recorded either way."""
    app = request.app
    app[METRICS].poll(poll.network.id, poll.profile.id)
    document = app[FEEDS].document(poll.network, poll.profile, poll.place)
    if poll.screen is not None:
        app[RECEIPTS].record(poll.network.id, poll.profile.id, poll.screen,
                             document.receipt_keys)
    # screens without an id spread their polls by address (behind a proxy, the client's)
    body, etag = document.variant(poll.screen or app[LIMITS].client(request))
    if etag_matches(request, etag):
        return web.Response(status=304, headers={**CACHING, "ETag": etag})
    signature = app[SIGNATURES].header(body, etag)
    return web.Response(body=body, headers={**CACHING, "ETag": etag, **JSON_TYPE,
                                            JWS_HEADER: signature})


@web.middleware
def lean_polls(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
    """The innermost middleware: a known poll is answered here, anything else by its route.

    A plain function handing back the route's coroutine, so that it leaves no frame of its own
    on a request that lasts (each push stream would keep one, a few hundred bytes)."""
    poll = request.app[POLLS].get(request)
    if poll is None:
        return handler(request)
    request.app[LIMITS].check(request)  # as the route's access wrapper would
    request[NETWORK] = poll.network
    return answer_poll(request, poll)
