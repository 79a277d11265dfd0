"""The envelope nchan sends, where feedserver gives none to copy (shaped like API.md's,
invented data)."""

from __future__ import annotations

import json

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

