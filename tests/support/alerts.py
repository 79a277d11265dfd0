"""Alert bodies about invented children, as staff send them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def in_hours(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat(timespec="seconds")


def amber_alert(**overrides: Any) -> dict[str, Any]:
    """A complete AMBER Alert about an invented child."""
    alert = {
        "kind": "amber",
        "circumstance": "stranger_abduction",
        "regions": ["NL"],
        "languages": ["nl", "en"],
        "children": [{"name": "Fleur Testkind", "age": 9, "sex": "female", "height_cm": 134,
                      "description": {"nl": "Lang blond haar", "en": "Long blond hair"},
                      "clothing": {"nl": "Rode jas", "en": "Red coat"}}],
        "suspects": [{"name": None, "description": {"nl": "Man, ongeveer 40",
                                                    "en": "Man, about 40"}}],
        "vehicles": [{"make": "Volkswagen", "model": "Golf", "colour": {"nl": "blauw",
                                                                        "en": "blue"},
                      "plate": "99-XYZ-9", "country": "NL"}],
        "last_seen": {"place": "Utrecht, Vredenburg", "at": in_hours(-1)},
        "message": {"nl": "Bel 112 als u haar ziet.", "en": "Call 112 if you see her."},
        "contact": {"phone": "0800-6070", "url": "https://www.politie.nl/amberalert"},
        "expires_at": in_hours(24),
    }
    alert.update(overrides)
    return alert


def missing_child_alert(**overrides: Any) -> dict[str, Any]:
    """A minimal regional Vermist Kind Alert (only the required fields)."""
    alert = {
        "kind": "missing_child",
        "circumstance": "runaway",
        "regions": ["NL-UT"],
        "languages": ["nl"],
        "children": [{"name": "Daan Verzonnen", "age": 14}],
        "message": "Daan is sinds gisteren vermist.",
    }
    alert.update(overrides)
    return alert
