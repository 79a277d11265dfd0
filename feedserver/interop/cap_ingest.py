"""Applying a CAP message: an Alert becomes a draft, an Update or Cancel changes its alert.

An ingested alert remembers the message it came from as its origin (`cap`, `sender,identifier`);
an Update or Cancel finds it through any of its `references`. An Update whose references name
nothing known here becomes a new draft (the original was missed); a Cancel of nothing is 404.
Sending the same Alert twice gives the alert the first one made.
"""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import Executor
from dataclasses import dataclass
from urllib.parse import urlsplit

from feedserver.alerts.model import Alert, Origin
from feedserver.alerts.service import AlertService
from feedserver.auth import Actor
from feedserver.config import Config
from feedserver.interop.cap_in import (
    CapMessage,
    Mapped,
    Resource,
    check_message,
    map_message,
    read_cap,
    resolution_text,
)
from feedserver.interop.capxml import CapError
from feedserver.interop.fetching import FetchRules
from feedserver.interop.images import (
    ImageUnavailable,
    decode_base64,
    fetch_image,
    photo_warning,
    store_image,
)
from feedserver.interop.trust import CapTrust
from feedserver.store.base import Store

log = logging.getLogger(__name__)

MAX_REASON = 2000


@dataclass(frozen=True)
class IngestSources:
    """What applying a CAP message needs: the alerts it changes, the store and the pool for its
    photos, the config (to know this server's own photo URLs), and which signers it trusts."""

    config: Config
    alerts: AlertService
    store: Store
    pool: Executor
    trust: CapTrust


@dataclass(frozen=True)
class Outcome:
    alert: Alert
    created: bool


async def ingest_cap(sources: IngestSources, data: bytes, actor: Actor) -> Outcome:
    # Parsing, verifying and schema checking a 10 MB message takes ~0.1 s: off the event loop.
    message, signature = await asyncio.get_running_loop().run_in_executor(
        sources.pool, read_cap, data, sources.trust)
    check_message(message)
    note = {"cap": message.identifier, "signature": signature}
    alerts = sources.alerts
    if message.msg_type == "Alert":
        existing = await alerts.find_by_origin("cap", message.key)
        if existing is not None:
            return Outcome(existing, False)
        return await _create(sources, message, actor, note)
    target = await _referenced(sources, message)
    if message.msg_type == "Cancel":
        if target is None:
            raise CapError(404, "references name no alert ingested here", "references")
        reason = message.note or f"cancelled by CAP message {message.identifier}"
        return Outcome(await alerts.cancel(target.id, reason[:MAX_REASON], actor, note=note),
                       False)
    if target is None:
        return await _create(sources, message, actor, note)
    mapped = map_message(message)
    if mapped.all_clear:
        if target.status == "draft":
            reason = f"all clear from CAP message {message.identifier} before publishing"
            return Outcome(await alerts.cancel(target.id, reason, actor, note=note), False)
        resolved = await alerts.resolve(target.id, resolution_text(message), actor, note=note)
        return Outcome(resolved, False)
    fields, warnings = await _with_photos(sources, mapped)
    return Outcome(await alerts.patch(target.id, fields, actor, lenient=True,
                                      warnings=warnings, note=note), False)


async def _create(sources: IngestSources, message: CapMessage, actor: Actor,
                  note: dict) -> Outcome:
    fields, warnings = await _with_photos(sources, map_message(message))
    alert, created = await sources.alerts.create_ingested(
        fields, actor, Origin("cap", message.key), warnings=warnings, note=note)
    return Outcome(alert, created)


async def _referenced(sources: IngestSources, message: CapMessage) -> Alert | None:
    """The alert an Update or Cancel is about: the newest reference that names one."""
    for key in reversed(message.references):
        alert = await sources.alerts.find_by_origin("cap", key)
        if alert is not None:
            return alert
    return None


async def _with_photos(sources: IngestSources, mapped: Mapped) -> tuple[dict, list[dict]]:
    """The mapped fields with each photo resource taken in; a photo that fails is left out,
    with a warning for the alert."""
    fields = mapped.fields
    warnings = []
    for group, index, resource in mapped.photos:
        try:
            photo = await _photo_id(sources, resource)
        except ImageUnavailable as exc:
            log.warning("CAP ingest: photo of %s[%d] left out: %s", group, index, exc)
            warnings.append(photo_warning(f"{group}[{index}].photo", exc))
            continue
        fields[group][index]["photo"] = photo
    return fields, warnings


async def _photo_id(sources: IngestSources, resource: Resource) -> str:
    own = _own_photo(sources, resource.uri)
    if own and await sources.store.photo_ids([own]):
        return own
    if resource.deref_uri:
        data = decode_base64(resource.deref_uri)
    elif resource.uri:
        data = await fetch_image(FetchRules.from_config(sources.config), resource.uri)
    else:
        raise ImageUnavailable("the resource has neither uri nor derefUri")
    return await store_image(sources.store, sources.pool, data)


OWN_PHOTO_RE = re.compile(r"^/v1/(?:photos|cap/[^/]+/photos)/(p_[0-9a-f]{24})$")


def _own_photo(sources: IngestSources, uri: str | None) -> str | None:
    """The photo id when `uri` is one of this server's photo URLs (its CAP coming back in)."""
    if not uri:
        return None
    public = urlsplit(sources.config.server.public_url)
    parts = urlsplit(uri)
    if parts.netloc != public.netloc or not parts.path.startswith(public.path.rstrip("/")):
        return None
    match = OWN_PHOTO_RE.match(parts.path[len(public.path.rstrip("/")):])
    return match.group(1) if match else None
