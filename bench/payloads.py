"""Bytes for the references where feedserver gives none to copy: the envelope nchan sends
(shaped like API.md's, invented data) and a drawn JPEG while feedserver has no current.jpg.
"""

from __future__ import annotations

import io
import json

from PIL import Image, ImageDraw

_AT = "2026-11-28T14:10:00+00:00"


def _entry(alert_id: str) -> dict:
    renders = {ext: f"http://127.0.0.1/v1/renders/{'0' * 64}.{ext}" for ext in ("jpg", "html")}
    return {
        "id": alert_id,
        "kind": "amber",
        "status": "active",
        "version": 1,
        "test": False,
        "headline": {
            "nl": "AMBER Alert: Testkind Benchmark (9)",
            "en": "AMBER Alert: Testkind Benchmark (9)",
        },
        "updated_at": _AT,
        "expires_at": "2026-11-29T14:10:00+00:00",
        "valid_until": "2026-11-28T14:25:00+00:00",
        "renders": renders,
    }


def envelope(alert_id: str) -> bytes:
    """An `alert.published` event envelope naming `alert_id` (which clients look for)."""
    env = {
        "id": 1,
        "type": "alert.published",
        "at": _AT,
        "network": "bench",
        "profile": "landscape",
        "alert": _entry(alert_id),
    }
    return json.dumps(env, separators=(",", ":")).encode()


def jpeg(size: tuple[int, int] = (1920, 1080)) -> bytes:
    """A drawn 1920x1080 poster-like JPEG (blocks and stripes, so it compresses like one)."""
    image = Image.new("RGB", size, (250, 204, 0))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle((0, 0, width, height // 6), fill=(20, 20, 20))
    draw.rectangle((width // 20, height // 4, width // 3, height * 9 // 10), fill=(120, 90, 70))
    for y in range(height // 4, height * 9 // 10, max(1, height // 18)):
        draw.rectangle((width * 2 // 5, y, width * 19 // 20, y + height // 40), fill=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
