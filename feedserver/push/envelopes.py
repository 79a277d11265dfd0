"""What a profile hears of an event: its feed entry wrapped in the contract's envelope.

Push streams and webhooks carry the same envelope. An ended alert (cancelled, expired) still
reaches the profiles that had it, with no renders and a `valid_until` in the past, so a screen
takes it down at once. A change that takes an alert away from a screen (other regions, area,
kind, or `test`) reaches that screen as `alert.withdrawn`, with the same takedown entry.
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta

from feedserver.alerts.model import Alert
from feedserver.config import AlertsConfig, Network, Profile
from feedserver.feeds.document import FeedCache, feed_entry, shown_until
from feedserver.geo.reach import Place, alert_reach, reaches
from feedserver.store.base import Event
from feedserver.timeutil import format_time, parse_time


def event_entry(alert: Alert, network: Network, profile: Profile, feeds: FeedCache,
                now: datetime) -> dict:
    """The alert's feed entry for this profile as of `now`, also for an alert that ended."""
    settings: AlertsConfig = feeds.settings
    if alert.is_visible:
        grace = now + timedelta(seconds=settings.offline_grace_seconds)
        valid_until = min(shown_until(alert, settings), grace)
        renders = feeds.render_urls(alert, network, profile)
    else:
        valid_until = parse_time(alert.ended_at)
        renders = {}
    return feed_entry(alert, profile, renders, valid_until)


WITHDRAWN = "alert.withdrawn"


def heard_as(event: Event, profile: Profile, place: Place) -> str | None:
    """What a screen hears of an event: the event itself when the new version reaches it,
    `alert.withdrawn` when only the version it was showing did, else nothing."""
    if reaches(alert_reach(event.alert), profile, place):
        return event.type
    previous = event.previous
    if previous is not None and previous.is_visible and \
            reaches(alert_reach(previous), profile, place):
        return WITHDRAWN
    return None


def heard_entry(event: Event, heard: str, network: Network, profile: Profile,
                feeds: FeedCache, now: datetime) -> dict:
    """The entry of an event as heard: a withdrawal has no renders and its validity ended."""
    if heard == WITHDRAWN:
        return feed_entry(event.alert, profile, {}, event.at)
    return event_entry(event.alert, network, profile, feeds, now)


def envelope(event: Event, network: Network, profile: Profile, entry: dict,
             heard: str | None = None) -> dict:
    return {"id": event.seq, "type": heard or event.type, "at": format_time(event.at),
            "network": network.id, "profile": profile.id, "alert": entry}



def sse_frame(seq: int, event_type: str, data: bytes) -> bytes:
    """One Server-Sent Events message; `data` is compact JSON, so it is a single line."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, event_type.encode(), data)


def http_chunk(data: bytes) -> bytes:
    """`data` as one chunk of a chunked HTTP/1.1 body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def websocket_text(payload: bytes) -> bytes:
    """An unmasked, uncompressed, final WebSocket text frame (RFC 6455 5.2), as servers send."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


WEBSOCKET_PING = b"\x89\x00"
