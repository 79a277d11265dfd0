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

from feedserver.alerts.fields import MAX_URL, URL_RE
from feedserver.geo.areas import area_regions, checked_area
from feedserver.jsonlimits import OddJson, bounded_json

# No pattern here can backtrack: every repeated class is followed by a character it cannot
# match, and text is cut to a bound before any pattern sees it. (The old title pattern, a lazy
# name class next to `\s*`, took time growing with the cube of the title's length.)
AGE_RE = re.compile(r"\(([0-9]{1,3})(?:\s*jaar)?\)", re.IGNORECASE)
LEADING_JOIN_RE = re.compile(r"^(?:en|and|&|,)\s+", re.IGNORECASE)
LEVEL_RE = re.compile(r"[0-9]{1,3}")
NAME_SEPARATORS = "(),&"
MAX_TITLE = 400
AMBER_LEVEL = 10
MAX_NUMBER_TEXT = 32


class Malformed(ValueError):
    """The answer is not a list the mirror can trust; the message never quotes its content."""


class OddEntry(ValueError):
    """One entry has a value the mirror cannot read; the message names the field only."""


@dataclass(frozen=True)
class Listed:
    """One entry of the list as the mirror needs it."""

    alert_id: str
    message_id: str | None
    cancelled: bool
    fields: dict
    photo_url: str | None


@dataclass(frozen=True)
class Skipped:
    """An entry with an odd value: its alert stays as it was (neither changed nor ended)."""

    alert_id: str
    why: str


@dataclass(frozen=True)
class ParsedList:
    listed: list[Listed]
    skipped: list[Skipped]


def parse_list(body: bytes) -> ParsedList:
    """The list's entries; runs in the process pool, so it takes bytes and returns dataclasses.
    An entry without an AlertId makes the whole answer untrustworthy (its alert could not be
    kept); any other odd value skips only its entry."""
    try:
        data = bounded_json(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Malformed(f"not JSON ({type(exc).__name__} at position "
                        f"{getattr(exc, 'pos', getattr(exc, 'start', '?'))})") from None
    except OddJson as exc:
        raise Malformed(f"the JSON {exc}") from None
    if not isinstance(data, list):
        raise Malformed(f"expected a JSON list, got {type(data).__name__}")
    parsed = ParsedList([], [])
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise Malformed(f"entry {i} is not an object")
        alert_id = _text(entry.get("AlertId"))
        if alert_id is None or len(alert_id) > 200:
            raise Malformed(f"entry {i} has no AlertId")
        try:
            parsed.listed.append(_listed(alert_id, entry))
        except OddEntry as exc:
            parsed.skipped.append(Skipped(alert_id, str(exc)))
    return parsed


def _text(value: Any) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def _url(value: Any) -> str | None:
    """An http(s) URL, or None; an over-long one is None before any pattern reads it."""
    text = _text(value)
    return text if text and len(text) <= MAX_URL and URL_RE.match(text) else None


def _listed(alert_id: str, entry: dict) -> Listed:
    for key in ("Message", "Location", "Area"):
        if not isinstance(entry.get(key), dict | None):
            raise OddEntry(f"{key} is not an object")
    message = entry.get("Message") or {}
    media = message.get("Media") if isinstance(message.get("Media"), dict) else {}
    return Listed(
        alert_id=alert_id,
        message_id=_text(entry.get("MessageId")),
        cancelled=_text(entry.get("Type")) == "Cancel",
        fields=entry_fields(entry),
        photo_url=_url(media.get("Image")) or _url(media.get("SmallImage")),
    )


def _kind(entry: dict) -> str:
    level = _text(entry.get("AlertLevel"))
    if level is None:
        return "missing_child"
    if not LEVEL_RE.fullmatch(level):
        raise OddEntry("AlertLevel is not a number")
    return "amber" if int(level) >= AMBER_LEVEL else "missing_child"


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
    """"Sanne (9)" or "Anna (5) en Bram (7)" → children; a title without ages → one name.
    A name is the text before "(age)" back to the previous bracket, comma or &."""
    if not title:
        return []
    title = title[:MAX_TITLE]
    people = []
    start = 0
    for match in AGE_RE.finditer(title):
        before = title[start:match.start()]
        cut = max(before.rfind(separator) for separator in NAME_SEPARATORS) + 1
        name = LEADING_JOIN_RE.sub("", before[cut:].strip())
        if name:
            people.append({"name": name[:120], "age": int(match.group(1))})
        start = match.end()
    if people:
        return people
    return [{"name": title[:120].strip()}]


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
    url = _url(message.get("Readmore_URL"))
    # Every mirrored field is set, null where the entry has nothing, so a merge patch clears it.
    fields["message"] = {"nl": description[:2000]} if description else None
    fields["last_seen"] = {"place": place[:200]} if place else None
    fields["contact"] = {"url": url} if url else None
    return fields
