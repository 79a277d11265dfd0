"""What SSE and WebSocket connections share: who is asking, and where they left off; and how a
live SSE stream leaves aiohttp for the hub."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from feedserver.appkeys import HUB
from feedserver.auth import KEY_ID
from feedserver.config import Network, Profile
from feedserver.errors import ApiError, FieldError
from feedserver.feeds.views import screen_profile
from feedserver.geo.reach import Place, screen_place
from feedserver.http import screen_facts
from feedserver.push.fanout import Admission, Client


@dataclass(frozen=True, slots=True)
class StreamRequest:
    network: Network
    profile: Profile
    screen: str | None
    place: Place
    since: int | None
    key_id: bytes  # names the key it came with, for `limits.streams_per_key`


def _event_id(raw: str | None) -> int | None:
    """An event id as a screen gives it back: None when absent, ValueError when malformed."""
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise ValueError(raw)
    return int(raw)


def stream_request(request: web.Request) -> StreamRequest:
    """Checked before the upgrade, so a refusal is still a JSON error.

    `Last-Event-ID` (what EventSource sends on reconnect) wins over `?since=`. A malformed
    header gets a fresh snapshot, as if the screen were new; a malformed `since` is a 400.
    """
    if request.app[HUB].closed:
        raise ApiError(503, "shutting_down", "the server is shutting down; reconnect shortly",
                       headers={"Retry-After": "2"})
    network, profile = screen_profile(request)
    facts = screen_facts(request)
    try:
        since = _event_id(request.headers.get("Last-Event-ID"))
    except ValueError:
        since = None
    if since is None:
        try:
            since = _event_id(request.query.get("since"))
        except ValueError:
            raise ApiError(400, "invalid_query", "since: must be an event id (0 or more)",
                           [FieldError("since", "must be a non-negative integer")]) from None
    return StreamRequest(network, profile, facts.screen,
                         screen_place(profile, facts.at, facts.region), since, request[KEY_ID])


def join(request: web.Request, asked: StreamRequest, kind: int, admission: Admission
         ) -> Client:
    """The prepared stream joins the hub. A stream never goes back to waiting for another
    request on its connection, so aiohttp's keep-alive timer (one per connection, about 600
    bytes) is stopped: the hub's keepalives find a dead peer instead."""
    request.protocol.keep_alive(False)
    return request.app[HUB].join(asked.network, asked.profile, asked.place, asked.screen,
                                 request.transport, kind, admission)


async def admitted(request: web.Request, asked: StreamRequest,
                   response: web.StreamResponse) -> Admission:
    """The stream counted among its key's (429 past `limits.streams_per_key`) and its
    answer's head sent; the count is given back if sending fails."""
    hub = request.app[HUB]
    admission = hub.admit(asked.key_id)
    try:
        await response.prepare(request)
    except BaseException:
        hub.release(admission)
        raise
    return admission


async def go_live(request: web.Request, client: Client, since: int | None) -> None:
    """What the screen missed, then live: the connection handed over to the hub. A client
    the hub let go during the catch-up (too slow, or the server stopping) is left to it."""
    hub = request.app[HUB]
    try:
        opening = await hub.opening(client, since)
        live = await hub.go_live(client, opening, request.writer.drain)
    except BaseException:
        hub.leave(client)
        raise
    if live:
        hand_over(request, client)


def hand_over(request: web.Request, client: Client) -> None:
    """A live stream leaves aiohttp: its connection's protocol becomes the hub's client,
    and aiohttp is told the connection is gone (after it lets go of the transport, which it
    would otherwise close), so its request, parser and the tasks that held them are freed.
    The handler then returns; aiohttp's end of the response finds no connection to write to
    and stops there. From now on the client learns of the connection's end itself."""
    protocol = request.protocol
    request.transport.set_protocol(client)
    protocol.transport = None
    protocol.connection_lost(None)
