"""What SSE and WebSocket connections share: who is asking, and where they left off."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from feedserver.config import Network, Profile
from feedserver.errors import ApiError, FieldError
from feedserver.feeds.views import screen_profile
from feedserver.http import screen_facts


@dataclass(frozen=True)
class StreamRequest:
    network: Network
    profile: Profile
    screen: str | None
    region: str | None
    since: int | None


def _sequence(raw: str | None) -> int | None:
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else -1


def stream_request(request: web.Request) -> StreamRequest:
    """Checked before the upgrade, so a refusal is still a JSON error.

    `Last-Event-ID` (what EventSource sends on reconnect) wins over `?since=`. A malformed
    header gets a fresh snapshot, as if the screen were new; a malformed `since` is a 400.
    """
    network, profile = screen_profile(request)
    screen, region = screen_facts(request)
    since = _sequence(request.headers.get("Last-Event-ID"))
    if since is None or since < 0:
        since = _sequence(request.query.get("since"))
        if since is not None and since < 0:
            raise ApiError(400, "invalid_query", "since: must be an event id (0 or more)",
                           [FieldError("since", "must be a non-negative integer")])
    return StreamRequest(network, profile, screen, region, since)
