"""The national alert system's JSON list, read into alert fields.

Each object: AlertId, MessageId, Sender, Sent (Unix seconds as a string), State (Actual |
Test), Type (Alert | Update | Cancel), Scope, AlertLevel ("10" a national AMBER Alert, "5" a
regional Vermist Kind Alert), Location {Description, Latitude, Longitude}, Message {Title
"Name (age)", Description, DescriptionExt "Vermist" | "Ontvoerd", Readmore_URL, Media_URL,
Media {Image, SmallImage}}, Area {Description, Circle, CircleKM}. Nulls are common: every
field but AlertId may be missing. The list gives no ISO region: an AMBER Alert is national
(regions ["NL"]); a regional entry with a usable `Location` and circle (CircleKM, else Circle
in metres) gets that circle as its `area` and the provinces it touches as its regions, and is
national otherwise. Its text is Dutch.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from feedserver.alerts.fields import URL_RE
from feedserver.geo.areas import area_regions, checked_area

TITLE_PERSON_RE = re.compile(r"([^(),&]+?)\s*\((\d{1,3})(?:\s*jaar)?\)", re.IGNORECASE)
LEADING_JOIN_RE = re.compile(r"^(?:en|and|&|,)\s+", re.IGNORECASE)
AMBER_LEVEL = 10
MAX_NUMBER_TEXT = 32


class Malformed(ValueError):
    """The answer is not a list the mirror can trust; the message never quotes its content."""


@dataclass(frozen=True)
class Listed:
    """One entry of the list as the mirror needs it."""

    alert_id: str
    message_id: str | None
    cancelled: bool
    fields: dict
    photo_url: str | None


def parse_list(body: bytes) -> list[Listed]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Malformed(f"not JSON ({type(exc).__name__} at position "
                        f"{getattr(exc, 'pos', getattr(exc, 'start', '?'))})") from None
    if not isinstance(data, list):
        raise Malformed(f"expected a JSON list, got {type(data).__name__}")
    listed = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise Malformed(f"entry {i} is not an object")
        alert_id = entry.get("AlertId")
        if not isinstance(alert_id, str | int) or isinstance(alert_id, bool) or \
                not str(alert_id).strip():
            raise Malformed(f"entry {i} has no AlertId")
        for key in ("Message", "Location", "Area"):
            if not isinstance(entry.get(key), dict | None):
                raise Malformed(f"entry {i}: {key} is not an object")
        listed.append(_listed(str(alert_id).strip(), entry))
    return listed


def _text(value: Any) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def _listed(alert_id: str, entry: dict) -> Listed:
    message = entry.get("Message") or {}
    media = message.get("Media") if isinstance(message.get("Media"), dict) else {}
    photo_url = _text(media.get("Image")) or _text(media.get("SmallImage"))
    return Listed(
        alert_id=alert_id,
        message_id=_text(entry.get("MessageId")),
        cancelled=_text(entry.get("Type")) == "Cancel",
        fields=entry_fields(entry),
        photo_url=photo_url if photo_url and URL_RE.match(photo_url) else None,
    )


def _kind(entry: dict) -> str:
    level = _text(entry.get("AlertLevel"))
    return "amber" if level and level.isdigit() and int(level) >= AMBER_LEVEL else \
        "missing_child"


def _number(value: Any) -> float | None:
    """A number as the list writes it ("52.15" or 52.15), or None."""
    text = _text(value)
    if text is None or len(text) > MAX_NUMBER_TEXT:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def _area(entry: dict) -> dict | None:
    """The circle of a regional entry (`Location` and `Area.CircleKM` or `Area.Circle` in m)."""
    location = entry.get("Location") or {}
    area = entry.get("Area") or {}
    radius_km = _number(area.get("CircleKM"))
    if radius_km is None:
        metres = _number(area.get("Circle"))
        radius_km = None if metres is None else metres / 1000
    circle = {"lat": _number(location.get("Latitude")), "lon": _number(location.get("Longitude")),
              "radius_km": radius_km}
    return checked_area({"circles": [circle]})


def children_from_title(title: str | None) -> list[dict]:
    """"Sanne (9)" or "Anna (5) en Bram (7)" → children; a title without ages → one name."""
    if not title:
        return []
    people = [(LEADING_JOIN_RE.sub("", name.strip()), int(age))
              for name, age in TITLE_PERSON_RE.findall(title)]
    if people:
        return [{"name": name[:120], "age": age} for name, age in people if name]
    return [{"name": title[:120]}]


def entry_fields(entry: dict) -> dict:
    """Alert input fields for one entry; text is kept as the list gives it."""
    message = entry.get("Message") or {}
    location = entry.get("Location") or {}
    kind = _kind(entry)
    abducted = (_text(message.get("DescriptionExt")) or "").lower() == "ontvoerd"
    if kind == "amber":
        circumstance = "stranger_abduction" if abducted else "life_threatening"
    else:
        circumstance = "unknown"
    area = None if kind == "amber" else _area(entry)
    fields: dict = {
        "kind": kind,
        "circumstance": circumstance,
        "test": _text(entry.get("State")) == "Test",
        "regions": area_regions(area) if area else ["NL"],
        "area": area,
        "languages": ["nl"],
        "children": children_from_title(_text(message.get("Title"))),
    }
    description = _text(message.get("Description"))
    place = _text(location.get("Description"))
    url = _text(message.get("Readmore_URL"))
    # Every mirrored field is set, null where the entry has nothing, so a merge patch clears it.
    fields["message"] = {"nl": description[:2000]} if description else None
    fields["last_seen"] = {"place": place[:200]} if place else None
    fields["contact"] = {"url": url} if url and URL_RE.match(url) else None
    return fields
