"""Warming a render worker before its first job: a new process pays once for reading the
layouts, opening the fonts, compiling the HTML template, choosing a QR code's mask and
starting each encoder, about as much again as a whole render. A worker does that on an
invented alert as it starts (the pool's initializer), so the first alert after a start, or
after a worker died, renders as fast as the second."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from feedserver.alerts.model import Shown
from feedserver.formats import FORMATS

from .creative import render_creatives
from .photos import PhotoData

SIZES = ((640, 360), (360, 640), (728, 90))  # one of each kind of layout family
CONTACT_URL = "https://www.politie.nl/amberalert"  # the usual contact: its QR code is cached


def _photo() -> PhotoData:
    image = Image.new("RGB", (120, 160), (180, 200, 220))
    ImageDraw.Draw(image).ellipse((30, 20, 90, 90), fill=(230, 190, 160))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return PhotoData.from_bytes("warm", out.getvalue())


def _alert() -> Shown:
    """An alert with every block a layout can show, about no one."""
    both = {"nl": "Voorbeeld", "en": "Example"}
    return Shown.from_document({
        "kind": "amber", "test": False, "status": "active", "languages": ["nl", "en"],
        "headline": None, "resolution": None, "place": None,
        "children": [{"name": "Voorbeeld", "age": 9, "sex": "female", "height_cm": 134,
                      "description": both, "clothing": both, "photo": "warm"}],
        "suspects": [{"name": None, "description": both, "photo": None}],
        "vehicles": [{"make": "Voorbeeld", "model": "Voorbeeld", "colour": both,
                      "plate": "00-AA-0", "country": "NL"}],
        "last_seen": {"place": "Voorbeeld", "at": "2026-01-01T12:00:00+00:00"},
        "message": both,
        "contact": {"phone": "0800-6070", "url": CONTACT_URL},
    })


def warm_up() -> None:
    """Render the invented alert in every format at a few small sizes (a worker's start)."""
    alert, photos = _alert(), {"warm": _photo()}
    for size in SIZES:
        render_creatives(alert, photos, size, "auto", ("nl", "en"), FORMATS)
