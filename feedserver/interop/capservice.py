"""CAP messages of stored alerts: the pure builder fed with the store's history and photos.

The same function serves `/v1/cap/{id}.xml`, `/v1/alerts/{id}/cap.xml`, the Atom feed and
`format: cap` webhooks, so every CAP message the server emits is built (and tested) one way.
It reads only its `DocumentSources` (no app keys), so the push outbox can import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from feedserver.alerts.model import Alert
from feedserver.config import Config, Network, Profile
from feedserver.feeds.document import FeedCache
from feedserver.interop.cap_out import EarlierMessage, alert_to_cap, photo_paths
from feedserver.signing.keys import KeyRing
from feedserver.signing.xmldsig import sign_cap
from feedserver.store.base import Event, Photo, Store
from feedserver.timeutil import Clock


def earlier_messages(history: list[dict], version: int) -> list[EarlierMessage]:
    """The messages screens got before `version`: from the published version on."""
    published = next((h["version"] for h in history if h["action"] == "published"), None)
    if published is None:
        return []
    return [EarlierMessage(h["version"], h["at"]) for h in history
            if published <= h["version"] < version]


@dataclass(frozen=True)
class DocumentSources:
    """What every document the server sends out is built from: CAP messages, Atom and RSS,
    and webhook bodies. Built once in `create_app`."""

    config: Config
    store: Store
    signing_keys: KeyRing
    feeds: FeedCache
    clock: Clock


async def build_cap(sources: DocumentSources, alert: Alert) -> bytes:
    """The CAP 1.2 message of this alert version, referencing the earlier ones, signed with
    the current key (XML-DSig, enveloped)."""
    photos: dict[str, Photo] = {}
    for _, photo_id in photo_paths(alert):
        photo = await sources.store.get_photo(photo_id)
        if photo is not None:
            photos[photo_id] = photo
    earlier = earlier_messages(await sources.store.history(alert.id), alert.version)
    message = alert_to_cap(alert, sources.config.server.public_url, earlier=earlier,
                           photos=photos,
                           resolved_display_seconds=sources.config.alerts.resolved_display_seconds)
    return sign_cap(message, sources.signing_keys.current)


async def cap_delivery_body(sources: DocumentSources, event: Event, network: Network | None = None,
                            profile: Profile | None = None) -> bytes:
    """A `format: cap` webhook's body (CAP_CONTENT_TYPE), the same for every profile:
    published → Alert, updated → Update, resolved → Update with AllClear, cancelled and
    expired → Cancel. Deterministic, so a retried delivery carries the same bytes."""
    return await build_cap(sources, event.alert)
