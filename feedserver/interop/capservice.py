"""CAP messages of stored alerts: the pure builder fed with the store's history and photos.

The same function serves `/v1/cap/{id}.xml`, `/v1/alerts/{id}/cap.xml`, the Atom feed and
`format: cap` webhooks, so every CAP message the server emits is built (and tested) one way.
"""

from __future__ import annotations

from aiohttp import web

from feedserver.appkeys import CONFIG, STORE
from feedserver.interop.cap_out import EarlierMessage, alert_to_cap, photo_paths
from feedserver.interop.vocabulary import CAP_CONTENT_TYPE
from feedserver.store.base import Event, Photo


def earlier_messages(history: list[dict], version: int) -> list[EarlierMessage]:
    """The messages screens got before `version`: from the published version on."""
    published = next((h["version"] for h in history if h["action"] == "published"), None)
    if published is None:
        return []
    return [EarlierMessage(h["version"], h["at"]) for h in history
            if published <= h["version"] < version]


async def cap_message(app: web.Application, alert: dict) -> bytes:
    """The CAP 1.2 message of this alert version, referencing the earlier ones."""
    store = app[STORE]
    config = app[CONFIG]
    photos: dict[str, Photo] = {}
    for _, photo_id in photo_paths(alert):
        photo = await store.get_photo(photo_id)
        if photo is not None:
            photos[photo_id] = photo
    earlier = earlier_messages(await store.history(alert["id"]), alert["version"])
    return alert_to_cap(alert, config.server.public_url, earlier=earlier, photos=photos,
                        resolved_display_seconds=config.alerts.resolved_display_seconds)


async def cap_delivery_body(app: web.Application, event: Event) -> tuple[bytes, str]:
    """A `format: cap` webhook's body for one event: published → Alert, updated → Update,
    resolved → Update with AllClear, cancelled and expired → Cancel."""
    return await cap_message(app, event.alert), CAP_CONTENT_TYPE
