"""Creative digests: a name for a creative computed without rendering it."""

from __future__ import annotations

import hashlib
import json
from functools import cache

from feedserver.alerts.model import Alert, Place, Shown
from feedserver.geo.labels import area_label, place_name

from .fonts import fonts_digest
from .layouts import choose, layouts_digest

RENDERER_VERSION = "1"
EXTENSIONS = {"jpg": "jpg", "png": "png", "webp": "webp", "html": "html"}


def rendered_part(alert: Alert) -> Shown:
    """The alert reduced to what a creative shows; the place of a regional alert is worked
    out here, so painters need no geography."""
    name = place_name(alert)
    return alert.shown(Place(name, {lang: area_label(alert, lang) for lang in alert.languages})
                       if name else None)


@cache
def _assets() -> str:
    return f"{RENDERER_VERSION}:{layouts_digest()}:{fonts_digest()}"


def content_digest(alert: Alert) -> str:
    canonical = json.dumps(
        rendered_part(alert).to_document(), sort_keys=True, ensure_ascii=False,
        separators=(",", ":")
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
