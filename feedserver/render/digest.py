"""Creative digests: a name for a creative computed without rendering it."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from feedserver.geo.labels import area_label, place_name

from .fonts import fonts_digest
from .layouts import choose, layouts_digest

RENDERER_VERSION = "1"
# What a creative shows; nothing else of the alert goes into the pool, so the digest covers it.
RENDERED_FIELDS = (
    "kind",
    "test",
    "status",
    "languages",
    "headline",
    "children",
    "suspects",
    "vehicles",
    "last_seen",
    "message",
    "contact",
    "resolution",
)
# Derived from `regions` and `area`: where a regional alert applies, as the creative names it.
PLACE_FIELD = "place"
EXTENSIONS = {"jpg": "jpg", "png": "png", "webp": "webp", "html": "html"}


def rendered_part(alert: dict[str, Any]) -> dict[str, Any]:
    """The alert reduced to what a creative shows (a found card only knows it is found); the
    place of a regional alert is worked out here, so painters need no geography."""
    part = {key: alert.get(key) for key in RENDERED_FIELDS}
    part["status"] = "resolved" if alert.get("status") == "resolved" else "active"
    name = place_name(alert) if "regions" in alert else None
    part[PLACE_FIELD] = name and {
        "name": name, "label": {lang: area_label(alert, lang) for lang in alert["languages"]}}
    return part


def photo_ids(alert: dict[str, Any]) -> list[str]:
    """Photos are immutable once uploaded (focus included), so their ids name them."""
    people = list(alert.get("children") or []) + list(alert.get("suspects") or [])
    return sorted({p["photo"] for p in people if p.get("photo")})


@cache
def _assets() -> str:
    return f"{RENDERER_VERSION}:{layouts_digest()}:{fonts_digest()}"


def content_digest(alert: dict[str, Any]) -> str:
    canonical = json.dumps(
        rendered_part(alert), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def creative_digest(
    content: str, size: tuple[int, int], layout: str, languages: tuple[str, ...], fmt: str
) -> str:
    """sha256 over the alert's shown content, size, concrete layout, languages, format, assets."""
    key = json.dumps(
        [content, list(size), choose(layout, size).name, list(languages), fmt, _assets()],
        separators=(",", ":"),
    )
    return hashlib.sha256(key.encode()).hexdigest()[:40]


def canvas_digest(
    content: str, size: tuple[int, int], layout: str, languages: tuple[str, ...]
) -> str:
    """What creatives of one alert, size, layout and languages share whatever their format:
    one plan and one painted canvas."""
    return creative_digest(content, size, layout, languages, "")
