"""Feed documents: each profile's view of the visible alerts, computed on change, served as bytes.

A poll costs a dictionary lookup: documents are rebuilt only when an alert changes or a time
boundary passes (an expiry, the end of a "found" card, the next validity refresh).

Screens at a known point share a document per place class: the set of visible regional alerts
whose area holds the point. Thousands of positions fall in a handful of classes, so they make
a handful of documents; a position's class is worked out once (one prepared-shape test per
regional alert) and remembered until the visible alerts change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, lru_cache

from feedserver.alerts.model import VISIBLE, Alert
from feedserver.config import AlertsConfig, Config, Network, Profile
from feedserver.formats import body_etag, compact_json
from feedserver.geo.reach import AlertReach, Place, alert_reach, reaches
from feedserver.store.base import Event, Store
from feedserver.timeutil import format_time, parse_time

POLL_JITTER_VARIANTS = 8
MAX_CACHED_DOCUMENTS = 20_000
MAX_CACHED_CLASSES = 200_000  # positions whose place class is known (screens poll from one)

RenderUrls = Callable[[Alert, Network, Profile], dict[str, str]]


def shown_until(alert: Alert, settings: AlertsConfig) -> datetime:
    """When the alert leaves screens unless something changes: expiry, or the found card's end."""
    if alert.status == "resolved":
        return parse_time(alert.ended_at) + timedelta(seconds=settings.resolved_display_seconds)
    return parse_time(alert.expires_at)


def _sort_key(alert: Alert) -> tuple:
    group = 2 if alert.status == "resolved" else (0 if alert.kind == "amber" else 1)
    newest = alert.ended_at if alert.status == "resolved" else alert.published_at
    return group, -parse_time(newest).timestamp(), alert.id


def feed_entry(alert: Alert, profile: Profile, renders: dict[str, str],
               valid_until: datetime) -> dict:
    headline = {lang: alert.headline[lang] for lang in profile.languages
                if lang in alert.headline}
    primary = alert.languages[0]
    return {
        "id": alert.id,
        "kind": alert.kind,
        "status": alert.status,
        "version": alert.version,
        "test": alert.test,
        "headline": headline or {primary: alert.headline[primary]},
        "updated_at": alert.updated_at,
        "expires_at": alert.expires_at,
        "valid_until": format_time(valid_until),
        "renders": renders,
    }


@dataclass(frozen=True)
class FeedDocument:
    entries: tuple[dict, ...]
    variants: tuple[tuple[bytes, str], ...]
    fresh_until: datetime

    @cached_property
    def receipt_keys(self) -> list[tuple[str, int]]:
        return [(entry["id"], entry["version"]) for entry in self.entries]

    def variant(self, client: str) -> tuple[bytes, str]:
        """The body and ETag for a client; each client keeps its own poll interval."""
        return self.variants[client_slot(client) % len(self.variants)]


@lru_cache(maxsize=65536)  # a screen (or an address) asks again on every poll
def client_slot(client: str) -> int:
    """A number that is the same for a client in every process and on every host."""
    return int.from_bytes(hashlib.blake2b(client.encode(), digest_size=2).digest())


def encode(doc: dict) -> tuple[bytes, str]:
    body = compact_json(doc)
    return body, body_etag(body)


def on_screens(alert: Alert, settings: AlertsConfig, now: datetime) -> bool:
    """Whether screens show the alert at `now`: published, and not past its expiry or the end
    of its found card. Only then is anything of it (creatives, photos) public."""
    return alert.is_visible and shown_until(alert, settings) > now


class FeedCache:
    """The visible alerts, mirrored from the store, and every profile's document built from them."""

    def __init__(self, config: Config, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.settings = config.alerts
        self.clock = clock
        self.render_urls: RenderUrls = lambda alert, network, profile: {}
        self._visible: dict[str, Alert] = {}
        self._reach: dict[str, AlertReach] = {}
        self._regional: tuple[tuple[str, AlertReach], ...] = ()
        self._classes: dict[tuple[float, float], frozenset[str]] = {}
        self._documents: dict[tuple, FeedDocument] = {}

    def reconfigure(self, config: Config) -> None:
        """After a reload: documents are built again for the profiles as now configured."""
        self.config = config
        self._documents.clear()

    def shows(self, alert: Alert) -> bool:
        """Whether the alert is on screens now."""
        return on_screens(alert, self.settings, self.clock())

    async def load(self, store: Store) -> None:
        self._visible = {a.id: a for a in await store.list_alerts(VISIBLE)}
        self._reindex()

    def on_change(self, alert: Alert, event: Event | None) -> None:
        if alert.is_visible:
            self._visible[alert.id] = alert
        elif self._visible.pop(alert.id, None) is None:
            return
        self._reindex()

    def _reindex(self) -> None:
        self._reach = {i: alert_reach(a) for i, a in self._visible.items()}
        self._regional = tuple((i, r) for i, r in self._reach.items() if r.regional)
        self._classes.clear()
        self._documents.clear()

    @property
    def cached_documents(self) -> int:
        return len(self._documents)

    def place_key(self, place: Place) -> tuple:
        """What decides a screen's document besides its profile: its regions, and for a screen
        at a point, which visible regional alerts hold that point (its place class)."""
        point = place.point
        if point is None:
            return place.regions, None
        found = self._classes.get(point)
        if found is None:
            if len(self._classes) >= MAX_CACHED_CLASSES:
                self._classes.clear()
            found = frozenset(i for i, r in self._regional if r.contains(point))
            self._classes[point] = found
        return place.regions, found

    def _refresh_period(self) -> timedelta:
        return timedelta(seconds=max(1, self.settings.offline_grace_seconds // 3))

    def period_start(self, now: datetime) -> datetime:
        """The start of the refresh period `now` falls in: the time a document is "as of".

        Not the wall clock of the process that built it: every process (on every host) builds
        the same bytes, and so the same ETag, from the same store state. A player takes the
        server's clock from the `Date` header instead.
        """
        period = self._refresh_period()
        epoch = datetime.fromtimestamp(0, now.tzinfo)
        return epoch + (now - epoch) // period * period

    def entries(self, network: Network, profile: Profile, place: Place,
                now: datetime) -> tuple[list[dict], datetime]:
        """The profile's entries in contract order, and when they next change by the clock."""
        boundary = self.period_start(now) + self._refresh_period()
        valid_base = boundary + timedelta(seconds=self.settings.offline_grace_seconds)
        fresh_until = boundary
        entries = []
        for alert in sorted(self._visible.values(), key=_sort_key):
            until = shown_until(alert, self.settings)
            if until <= now or not reaches(self._reach[alert.id], profile, place):
                continue
            fresh_until = min(fresh_until, until)
            renders = self.render_urls(alert, network, profile)
            entries.append(feed_entry(alert, profile, renders, min(until, valid_base)))
        return entries, fresh_until

    def document(self, network: Network, profile: Profile, place: Place) -> FeedDocument:
        """The document of a screen of this profile at this place (any point of its class)."""
        key = (network.id, profile.id, self.place_key(place))
        now = self.clock()
        cached = self._documents.get(key)
        if cached is not None and now < cached.fresh_until:
            return cached
        entries, fresh_until = self.entries(network, profile, place, now)
        base = {
            "network": network.id,
            "profile": profile.id,
            "size": profile.size_text,
            "state": "alert" if entries else "idle",
            "generated_at": format_time(self.period_start(now)),
        }
        poll = self.settings.poll_after_seconds
        variants = tuple(
            encode({**base, "poll_after_seconds": round(poll * (0.8 + 0.4 * i /
                                                                (POLL_JITTER_VARIANTS - 1))),
                    "alerts": entries})
            for i in range(POLL_JITTER_VARIANTS)
        )
        if len(self._documents) >= MAX_CACHED_DOCUMENTS:
            self._documents.clear()
        document = FeedDocument(tuple(entries), variants, fresh_until)
        self._documents[key] = document
        return document
