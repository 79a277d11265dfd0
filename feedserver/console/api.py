"""API calls the console makes while staff type: a dry-run check of the rules, and previews of
alert content that is not saved yet, for every profile of every network. Nothing here writes
to the store; both are plain /v1 endpoints, open to any viewer or API client."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections import OrderedDict
from typing import Any

from aiohttp import web

from feedserver.alerts.fields import normalise
from feedserver.alerts.model import Alert
from feedserver.alerts.texts import headline
from feedserver.appkeys import ALERTS, CONFIG, RENDERER
from feedserver.config import Network, Profile
from feedserver.errors import not_found, validation_failed
from feedserver.geo.reach import profile_reached, reach_of
from feedserver.http import json_response, read_json
from feedserver.render.creative import Creative
from feedserver.render.report import warnings

PREVIEW_FORMAT = "jpg"  # the wall shows the plan every format paints; JPEG encodes fastest
DIGEST_RE = re.compile(r"^[0-9a-f]{40}$")


class PreviewShelf:
    """The wall's creatives by digest, most recently used kept: enough for a few staff
    members' walls; an evicted tile is rendered again by the next preview call."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._items: OrderedDict[str, Creative] = OrderedDict()

    def put(self, digest: str, creative: Creative) -> None:
        self._items[digest] = creative
        self._items.move_to_end(digest)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, digest: str) -> Creative | None:
        creative = self._items.get(digest)
        if creative is not None:
            self._items.move_to_end(digest)
        return creative

    def on_change(self, alert: Alert, event: object) -> None:
        """EventBus listener: when any alert's personal data is purged, every tile goes. A
        tile is of form content, not of a saved alert, so which tiles showed that child cannot
        be told; a cleared tile is rendered again by the next preview call."""
        if alert.is_purged:
            self._items.clear()


SHELF = web.AppKey("preview_shelf", PreviewShelf)


async def validate_alert(request: web.Request) -> web.Response:
    """`POST /v1/alerts/validate`: every rule the body breaks, as a 200 (nothing is saved)."""
    _, problems = await request.app[ALERTS].problems(await read_json(request))
    return json_response({"valid": not problems,
                          "errors": [problem.as_json() for problem in problems]})


def _unsaved(content: dict[str, Any]) -> Alert:
    """Form content dressed as a draft, named by all of its content (what it shows, and where
    it reaches), so renders and reach are worked out once per content."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    alert = Alert.from_document(
        {**content, "status": "draft", "version": 0, "resolution": None,
         "id": "preview-" + hashlib.sha256(canonical.encode()).hexdigest()[:24]})
    return alert.changed(headline=headline(alert))


def _tile(network: Network, profile: Profile, alert: Alert, digest: str,
          creative: Creative) -> dict[str, Any]:
    blocks = [b for layer in creative.report["layers"] for b in layer["blocks"]]
    return {
        "network": network.id, "network_name": network.name, "profile": profile.id,
        "size": profile.size_text, "languages": list(profile.languages),
        "reaches": profile_reached(reach_of(alert), profile),
        "image": f"/v1/previews/{digest}.{PREVIEW_FORMAT}",
        "warnings": warnings(creative.report),
        "smallest_text_px": min((b["font_px"] for b in blocks), default=None),
        "lowest_contrast": min((b["contrast"] for b in blocks), default=None),
        "dropped": sorted({d for layer in creative.report["layers"] for d in layer["dropped"]}),
    }


async def preview_alert(request: web.Request) -> web.Response:
    """`POST /v1/previews`: the body (alert input, saved or not) rendered for every profile of
    every network, with each layout report's warnings; fields that cannot be read are left out,
a missing or unknown kind is a 422."""
    data = await read_json(request)
    content, errors = normalise(data, request.app[CONFIG].current.alerts.default_contact)
    if content["kind"] is None:  # a field that cannot be read is left out; the kind cannot be
        raise validation_failed([e for e in errors if e.field == "kind"])
    alert = _unsaved(content)
    service = request.app[RENDERER]
    shelf = request.app[SHELF]
    targets = [(n, p) for n in request.app[CONFIG].current.networks for p in n.profiles]
    creatives = await asyncio.gather(*(service.preview(alert, p, PREVIEW_FORMAT)
                                       for _, p in targets))
    tiles = []
    for (network, profile), creative in zip(targets, creatives, strict=True):
        digest = service.job(alert, profile, PREVIEW_FORMAT).digest
        shelf.put(digest, creative)
        tiles.append(_tile(network, profile, alert, digest, creative))
    return json_response({"headline": dict(alert.headline), "tiles": tiles})


async def preview_image(request: web.Request) -> web.Response:
    """`GET /v1/previews/{digest}.jpg`: a tile of a wall shown lately (viewer)."""
    digest = request.match_info["digest"]
    creative = request.app[SHELF].get(digest) if DIGEST_RE.match(digest) else None
    if creative is None or request.match_info["ext"] != PREVIEW_FORMAT:
        raise not_found(f"preview {digest}")
    return web.Response(body=creative.body, content_type=creative.content_type,
                        headers={"Cache-Control": "private, max-age=3600, immutable"})

