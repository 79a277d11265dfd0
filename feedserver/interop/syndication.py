"""Atom and Media RSS documents per profile, built from the feed document and cached as bytes.

They are views of the same entries as the JSON feed document (same filters, order and render
URLs); their bytes are rebuilt only when those entries change, so a poll costs a lookup and
their strong ETags stay put between changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from feedserver.alerts.model import Alert
from feedserver.config import Network, Profile
from feedserver.feeds.document import FeedDocument
from feedserver.formats import CONTENT_TYPES, IMAGE_FORMATS, body_etag
from feedserver.interop.capservice import DocumentSources, build_cap
from feedserver.interop.vocabulary import xml_text
from feedserver.timeutil import parse_time

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CACHED = 20_000


@dataclass(frozen=True)
class Image:
    url: str
    content_type: str


@dataclass(frozen=True)
class FeedItem:
    alert: Alert
    title: str
    text: str | None
    link: str
    cap_url: str
    cap: bytes
    images: tuple[Image, ...]


@dataclass(frozen=True)
class FeedMeta:
    network: Network
    profile: Profile
    public_url: str
    self_url: str
    title: str
    subtitle: str
    language: str
    updated: datetime
    ttl_minutes: int


Builder = Callable[[FeedMeta, list[FeedItem]], bytes]


@dataclass(frozen=True)
class Syndicated:
    signature: tuple
    body: bytes
    etag: str


class Syndication:
    """The cache of Atom and RSS bytes, keyed by network, profile, format and the entries."""

    def __init__(self, sources: DocumentSources) -> None:
        self.sources = sources
        self._cache: dict[tuple, Syndicated] = {}

    async def get(self, network: Network, profile: Profile, document: FeedDocument, kind: str,
                  build: Builder) -> Syndicated:
        """Atom or RSS of a screen's feed document: only what reaches that screen."""
        sources = self.sources
        entries = document.entries
        signature = tuple((e["id"], e["version"], tuple(sorted(e["renders"].items())))
                          for e in entries)
        key = (network.id, profile.id, kind, signature)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        meta = await _meta(sources, network, profile, kind, entries)
        items = [await _item(sources, profile, entry) for entry in entries]
        body = build(meta, [item for item in items if item is not None])
        etag = body_etag(body)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[key] = Syndicated(signature, body, etag)
        return self._cache[key]


async def _meta(sources: DocumentSources, network: Network, profile: Profile, kind: str,
                entries: tuple[dict, ...]) -> FeedMeta:
    config = sources.config
    public_url = config.server.public_url.rstrip("/")
    updated = max((parse_time(e["updated_at"]) for e in entries), default=None)
    return FeedMeta(
        network=network,
        profile=profile,
        public_url=public_url,
        self_url=f"{public_url}/v1/feeds/{network.id}/{profile.id}/{kind}",
        title=f"{network.name}: {profile.id} ({profile.size_text})",
        subtitle="AMBER Alerts and Vermist Kind Alerts for this screen profile",
        language=profile.languages[0],
        updated=updated or await _last_change(sources),
        ttl_minutes=max(1, config.alerts.poll_after_seconds // 60),
    )


async def _last_change(sources: DocumentSources) -> datetime:
    """When screens last saw anything change: the newest event (an idle feed's `updated`)."""
    store = sources.store
    seq = await store.last_seq()
    events = await store.events_since(seq - 1, 1) if seq else []
    return events[0].at if events else EPOCH


async def _item(sources: DocumentSources, profile: Profile, entry: dict) -> FeedItem | None:
    alert = await sources.store.get_alert(entry["id"])
    if alert is None:
        return None
    lang = next((lang for lang in profile.languages if lang in alert.languages),
                alert.languages[0])
    title = entry["headline"].get(lang) or next(iter(entry["headline"].values()))
    words = (alert.resolution and alert.resolution.message) if alert.status == "resolved" \
        else alert.message
    renders = entry["renders"]
    images = tuple(Image(renders[fmt], CONTENT_TYPES[fmt]) for fmt in profile.formats
                   if fmt in IMAGE_FORMATS and fmt in renders)
    public_url = sources.config.server.public_url.rstrip("/")
    cap_url = f"{public_url}/v1/cap/{alert.id}.xml"
    link = renders.get("html") or (images[0].url if images else cap_url)
    text = (words or {}).get(lang)
    return FeedItem(alert, xml_text(title), text and xml_text(text), link, cap_url,
                    await build_cap(sources, alert), images)
